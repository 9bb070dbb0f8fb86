import type { ContactState } from "./contact-state.ts";
import { sortedLists } from "./contact-state.ts";
import { type AttributeValue, attributeValue, contactCurrency, rawField } from "./fields.ts";
import { evaluate } from "./predicate.ts";
import type { CustomerReadModel } from "./read-model.ts";
import type { BuiltinList, SinkConfig } from "./sink-config.ts";

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
  return {
    kind: "contact",
    state: { extId: m.customerId, email, attributes, lists: sortedLists(lists), deleted: false },
  };
}
