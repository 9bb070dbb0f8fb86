import { z } from "zod";
import { type BrevoAttributeType, compatible, fieldKind, HISTORY_FIELDS, isKnownField, naturalType } from "./fields.ts";
import { type Predicate, parsePredicate } from "./predicate.ts";

/**
 * The sink's config file (sink.sample.yaml documents every key). Validated once at startup;
 * every problem names its key path, e.g. `lists.custom[1].when: unknown field "ltv"`.
 */

/** What happens to the Brevo contact of a customer deleted in Stripe (deletion is absorbing). */
export const DELETED_POLICIES = ["unlink_lists", "clear_attributes", "delete_contact"] as const;
export type DeletedPolicy = (typeof DELETED_POLICIES)[number];

export const BUILTIN_LISTS = ["all_customers", "subscribers", "churned", "trialing", "past_due"] as const;
export type BuiltinList = (typeof BUILTIN_LISTS)[number];

/** Brevo names attributes in UPPER_CASE; these are identifiers Brevo manages itself. */
export const RESERVED_ATTRIBUTES = new Set(["EMAIL", "EXT_ID"]);

export const DEFAULT_ATTRIBUTES: Readonly<Record<string, { from: string; type?: BrevoAttributeType }>> = {
  TOTAL_SPENT: { from: "total_spent" },
  PAYMENT_COUNT: { from: "payment_count" },
  LAST_PAYMENT_DATE: { from: "last_payment_at" },
  AOV: { from: "average_order_value" },
  SUB_STATUS: { from: "subscription_status" },
  PLAN_NAME: { from: "plan_name" },
  MONTHLY_REVENUE: { from: "mrr" },
  SUB_START_DATE: { from: "subscription_started_at" },
  FIRSTNAME: { from: "name.first" },
  LASTNAME: { from: "name.last" },
  SMS: { from: "phone" },
  CURRENCY: { from: "currency" },
};

/** Stripe event type → Brevo custom event name; the seeds' use cases (DOMAIN.md §4). */
export const DEFAULT_EVENTS: Readonly<Record<string, string>> = {
  "invoice.payment_failed": "payment_failed",
  "customer.subscription.trial_will_end": "trial_ending",
  "invoice.paid": "invoice_paid",
  "charge.refunded": "refund",
  "checkout.session.expired": "checkout_expired",
  "customer.subscription.deleted": "subscription_cancelled",
  // Issue #20. On: each is one mail-worthy moment. Off by default (sink.sample.yaml shows their
  // names): payment_intent.* (a subscription renewal also fires them, beside invoice.*),
  // invoice.finalized / invoice.sent (Stripe mails issued invoices itself when asked to).
  "checkout.session.completed": "checkout_completed",
  "invoice.upcoming": "renewal_upcoming",
  "customer.source.expiring": "card_expiring",
};

/** The consent values a metadata key may hold (any case); anything else counts as unknown. */
export const CONSENT_YES = new Set(["opt_in", "true", "yes", "1", "granted"]);
export const CONSENT_NO = new Set(["opt_out", "false", "no", "0", "denied", "revoked"]);

const attributeName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, { error: "Brevo attribute names are UPPER_CASE letters, digits and _" });
const listId = z.number({ error: "expected a Brevo list id (a positive integer)" }).int().positive();
const eventName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,255}$/, { error: "Brevo event names are 1-255 letters, digits, - and _" });

const attributeSpec = z.strictObject({
  from: z.string({ error: "required: the read-model field, e.g. total_spent or metadata.customer_tier" }),
  type: z.enum(["text", "float", "date", "boolean"]).optional(),
});

const customList = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, { error: "lower_snake_case name" }),
  list_id: listId,
  when: z.string({ error: 'required: a predicate such as "total_spent >= 100000"' }),
});

const rawSchema = z.strictObject({
  version: z.literal(1, { error: "expected 1 (the only config format so far)" }),
  identity: z
    .strictObject({
      // ext_id is always the Stripe customer id: it keeps the contact stable across email changes.
      ext_id: z.literal("stripe_customer_id").default("stripe_customer_id"),
      missing_email: z.literal("skip").default("skip"),
      email_collision: z.literal("record_failure").default("record_failure"),
    })
    .default({ ext_id: "stripe_customer_id", missing_email: "skip", email_collision: "record_failure" }),
  money: z
    .strictObject({
      fallback_currency: z
        .string()
        .regex(/^[a-z]{3}$/, { error: "a lower-case ISO 4217 code, e.g. usd" })
        .default("usd"),
    })
    .default({ fallback_currency: "usd" }),
  default_attributes: z.boolean().default(true),
  attributes: z.record(attributeName, attributeSpec.nullable()).default({}),
  lists: z
    .strictObject({
      all_customers: listId.optional(),
      subscribers: listId.optional(),
      churned: listId.optional(),
      trialing: listId.optional(),
      past_due: listId.optional(),
      custom: z.array(customList).default([]),
    })
    .default({ custom: [] }),
  // Issue #20: lists that take only contacts who consented to marketing. Safe by default: no
  // recorded consent means no marketing list.
  consent: z
    .strictObject({
      marketing_lists: z.array(listId).default([]),
      metadata_key: z
        .string()
        .regex(/^[A-Za-z0-9_.-]{1,40}$/, { error: "a Stripe metadata key (letters, digits, _ . -)" })
        .default("marketing_consent"),
      default: z.enum(["opt_in", "opt_out"]).default("opt_out"),
    })
    .default({ marketing_lists: [], metadata_key: "marketing_consent", default: "opt_out" }),
  // Default delete_contact (issue #11): a Stripe deletion is often an erasure request; keeping the contact
  // would keep its PII in Brevo and let automations email the person.
  deleted_customers: z.enum(DELETED_POLICIES).default("delete_contact"),
  events: z
    .strictObject({
      enabled: z.boolean().default(true),
      // ISO time; events created before it are history and never sent. Default: the sink's first run.
      send_after: z.iso.datetime({ offset: true }).optional(),
      mapping: z
        .record(z.string().regex(/^[a-z_.]+$/, { error: "a Stripe event type" }), eventName.nullable())
        .default({}),
      // Checkout events are sent from the line-items record ingest's enricher appends (true), or
      // from the webhook, without items (false: for a deployment without the enricher).
      line_items: z.boolean().default(true),
    })
    .default({ enabled: true, mapping: {}, line_items: true }),
});

export interface AttributeMapping {
  readonly attribute: string;
  readonly from: string;
  readonly type: BrevoAttributeType;
}
export interface ListRule {
  readonly name: string;
  readonly listId: number;
  readonly builtin?: BuiltinList;
  readonly predicate?: Predicate;
}
export interface SinkConfig {
  readonly fallbackCurrency: string;
  readonly attributes: readonly AttributeMapping[];
  readonly lists: readonly ListRule[];
  readonly deletedPolicy: DeletedPolicy;
  readonly events: {
    readonly enabled: boolean;
    readonly sendAfter: number | undefined;
    readonly mapping: Readonly<Record<string, string>>;
    readonly lineItems: boolean;
  };
  readonly consent: {
    /** Brevo list ids that need marketing consent. */
    readonly marketingLists: ReadonlySet<number>;
    readonly metadataKey: string;
    readonly default: "opt_in" | "opt_out";
  };
}

/** Whether the config maps or tests a field of the MRR history (the source then reads it). */
export const usesHistory = (config: SinkConfig): boolean =>
  config.attributes.some((a) => HISTORY_FIELDS.has(a.from)) ||
  config.lists.some((l) => l.predicate?.some((conj) => conj.some((c) => HISTORY_FIELDS.has(c.field))) ?? false);

export type ConfigIssue = { readonly path: string; readonly message: string };

/** `["lists","custom",1,"when"]` → `lists.custom[1].when` */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc === "" ? String(p) : `${acc}.${String(p)}`),
    "",
  ) || "(root)";

/** Validates a parsed YAML document; returns every problem at once. */
export function parseSinkConfig(doc: unknown): { ok: true; config: SinkConfig } | { ok: false; issues: ConfigIssue[] } {
  const parsed = rawSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })) };
  }
  const raw = parsed.data;
  const issues: ConfigIssue[] = [];

  const specs = { ...(raw.default_attributes ? DEFAULT_ATTRIBUTES : {}), ...raw.attributes };
  const attributes: AttributeMapping[] = [];
  for (const [attribute, spec] of Object.entries(specs)) {
    if (spec === null || spec === undefined) continue; // `KEY: null` drops a default mapping
    const path = `attributes.${attribute}`;
    if (RESERVED_ATTRIBUTES.has(attribute)) {
      issues.push({ path, message: `${attribute} is an identifier Brevo manages; it is set from the identity policy` });
      continue;
    }
    if (!isKnownField(spec.from)) {
      issues.push({ path: `${path}.from`, message: `unknown read-model field ${JSON.stringify(spec.from)}` });
      continue;
    }
    const kind = spec.from.startsWith("metadata.") ? "text" : fieldKind(spec.from);
    const type = spec.type ?? naturalType(kind);
    if (!compatible(kind, type)) {
      issues.push({
        path: `${path}.type`,
        message: `${spec.from} is ${kind}; it fits ${naturalType(kind)} or text, not ${type}`,
      });
      continue;
    }
    attributes.push({ attribute, from: spec.from, type });
  }
  attributes.sort((a, b) => (a.attribute < b.attribute ? -1 : 1));

  const lists: ListRule[] = [];
  for (const name of BUILTIN_LISTS) {
    const id = raw.lists[name];
    if (id !== undefined) lists.push({ name, listId: id, builtin: name });
  }
  raw.lists.custom.forEach((rule, i) => {
    const result = parsePredicate(rule.when, isKnownField);
    if (!result.ok) issues.push({ path: `lists.custom[${i}].when`, message: result.error });
    else lists.push({ name: rule.name, listId: rule.list_id, predicate: result.predicate });
  });
  const names = new Set<string>();
  lists.forEach((l) => {
    if (names.has(l.name)) issues.push({ path: "lists.custom", message: `list name ${l.name} used twice` });
    names.add(l.name);
  });

  const mapping: Record<string, string> = {};
  for (const [type, name] of Object.entries({ ...DEFAULT_EVENTS, ...raw.events.mapping })) {
    if (name !== null && name !== undefined) mapping[type] = name;
  }
  const managed = new Set(lists.map((l) => l.listId));
  raw.consent.marketing_lists.forEach((id, i) => {
    if (!managed.has(id))
      issues.push({ path: `consent.marketing_lists[${i}]`, message: `list ${id} is not one of the managed lists` });
  });
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      fallbackCurrency: raw.money.fallback_currency,
      attributes,
      lists,
      deletedPolicy: raw.deleted_customers,
      events: {
        enabled: raw.events.enabled,
        sendAfter:
          raw.events.send_after === undefined ? undefined : Math.floor(Date.parse(raw.events.send_after) / 1000),
        mapping,
        lineItems: raw.events.line_items,
      },
      consent: {
        marketingLists: new Set(raw.consent.marketing_lists),
        metadataKey: raw.consent.metadata_key,
        default: raw.consent.default,
      },
    },
  };
}
