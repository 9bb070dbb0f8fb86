import type { ContactState } from "./contact-state.ts";
import { sortedLists } from "./contact-state.ts";
import { type AttributeValue, attributeValue, contactCurrency, rawField } from "./fields.ts";
import { evaluate } from "./predicate.ts";
import type { CustomerReadModel } from "./read-model.ts";
import { type BuiltinList, CONSENT_NO, CONSENT_YES, type SinkConfig } from "./sink-config.ts";

export type Desired =
  | { readonly kind: "contact"; readonly state: ContactState }
  /** Not pushed: Brevo contacts need an email here (identity policy), counted in plans and runs. */
  | { readonly kind: "skip"; readonly extId: string; readonly reason: "no_email" }
  | { readonly kind: "deleted"; readonly extId: string };

/** A paying subscription, the same statuses MRR counts (DOMAIN.md §2). */
const SUBSCRIBED = new Set(["active", "past_due"]);

const builtinMember = (m: CustomerReadModel, list: BuiltinList): boolean => {
  switch (list) {
    case "all_customers":
      return true;
    case "subscribers":
      return SUBSCRIBED.has(m.subscriptionStatus ?? "");
    case "churned":
      return m.churned;
    case "trialing":
      return m.subscriptionStatus === "trialing";
    case "past_due":
      return m.subscriptionStatus === "past_due";
    default: {
      const never: never = list;
      return never;
    }
  }
};

/**
 * Marketing consent (issue #20): the customer's metadata under `consent.metadata_key`
 * (opt_in/true/yes… or opt_out/false/no…, any case), else `consent.default` (opt_out: the safe
 * side). Without consent a contact is in no marketing list, and an opt-out removes it from them
 * (list membership is a set over the managed lists); transactional events are not affected.
 */
export function marketingConsent(m: CustomerReadModel, config: SinkConfig): boolean {
  const value = m.metadata[config.consent.metadataKey]?.trim().toLowerCase();
  if (value !== undefined && CONSENT_YES.has(value)) return true;
  if (value !== undefined && CONSENT_NO.has(value)) return false;
  return config.consent.default === "opt_in";
}

/** The contact Brevo should hold for one customer under the config. Pure and total. */
export function desiredContact(m: CustomerReadModel, config: SinkConfig): Desired {
  if (m.deleted) return { kind: "deleted", extId: m.customerId };
  const email = m.email?.trim().toLowerCase() ?? "";
  if (email === "") return { kind: "skip", extId: m.customerId, reason: "no_email" };
  const currency = contactCurrency(m, config.fallbackCurrency);
  const attributes: Record<string, AttributeValue | null> = {};
  for (const a of config.attributes) attributes[a.attribute] = attributeValue(m, a.from, a.type, currency);
  const lists = config.lists
    .filter((rule) =>
      rule.builtin !== undefined
        ? builtinMember(m, rule.builtin)
        : rule.predicate !== undefined && evaluate(rule.predicate, (field) => rawField(m, field, currency)),
    )
    .map((rule) => rule.listId);
  const consented = config.consent.marketingLists.size === 0 || marketingConsent(m, config);
  const allowed = consented ? lists : lists.filter((id) => !config.consent.marketingLists.has(id));
  return {
    kind: "contact",
    state: { extId: m.customerId, email, attributes, lists: sortedLists(allowed), deleted: false },
  };
}
