import { toMajorUnits } from "./currency.ts";
import type { CustomerReadModel } from "./read-model.ts";

/**
 * The read-model fields a config may map or test, by their snake_case names (the row form of
 * `customer_metrics`), with the Brevo attribute type each one naturally fits.
 */
export type FieldKind = "money" | "number" | "date" | "text" | "boolean";
export type BrevoAttributeType = "text" | "float" | "date" | "boolean";
export type AttributeValue = string | number | boolean;

interface FieldSpec {
  readonly kind: FieldKind;
  /** Raw value: money in minor units of the contact currency, dates as unix seconds. */
  readonly get: (m: CustomerReadModel, currency: string) => number | string | boolean | null;
}

const money =
  (pick: (m: CustomerReadModel) => Readonly<Record<string, number>>, empty: 0 | null): FieldSpec["get"] =>
  (m, currency) =>
    pick(m)[currency] ?? empty;

/** "Ada King Lovelace" → first "Ada", last "King Lovelace": what Stripe-to-CRM connectors do. */
export const splitName = (name: string | null): { first: string | null; last: string | null } => {
  const trimmed = name?.trim() ?? "";
  if (trimmed === "") return { first: null, last: null };
  const space = trimmed.search(/\s/);
  if (space < 0) return { first: trimmed, last: null };
  return { first: trimmed.slice(0, space), last: trimmed.slice(space + 1).trim() || null };
};

export const FIELDS: Readonly<Record<string, FieldSpec>> = {
  email: { kind: "text", get: (m) => m.email },
  name: { kind: "text", get: (m) => m.name },
  "name.first": { kind: "text", get: (m) => splitName(m.name).first },
  "name.last": { kind: "text", get: (m) => splitName(m.name).last },
  phone: { kind: "text", get: (m) => m.phone },
  currency: { kind: "text", get: (_m, currency) => currency.toUpperCase() },
  created_at: { kind: "date", get: (m) => m.createdAt },
  deleted: { kind: "boolean", get: (m) => m.deleted },
  payment_count: { kind: "number", get: (m) => m.paymentCount },
  total_spent: { kind: "money", get: money((m) => m.totalSpent, 0) },
  average_order_value: { kind: "money", get: money((m) => m.averageOrderValue, null) },
  last_payment_at: { kind: "date", get: (m) => m.lastPaymentAt },
  failed_payment_count: { kind: "number", get: (m) => m.failedPaymentCount },
  refunded_total: { kind: "money", get: money((m) => m.refundedTotal, 0) },
  dispute_count: { kind: "number", get: (m) => m.disputeCount },
  mrr: { kind: "money", get: money((m) => m.mrr, 0) },
  subscription_status: { kind: "text", get: (m) => m.subscriptionStatus },
  plan_name: { kind: "text", get: (m) => m.planName },
  subscription_started_at: { kind: "date", get: (m) => m.subscriptionStartedAt },
  trial_end: { kind: "date", get: (m) => m.trialEnd },
  cancel_at_period_end: { kind: "boolean", get: (m) => m.cancelAtPeriodEnd },
  current_period_end: { kind: "date", get: (m) => m.currentPeriodEnd },
  churned: { kind: "boolean", get: (m) => m.churned },
  // Issue #20 (projector migration 0007). Not mapped by default: sink.sample.yaml shows how.
  balance: { kind: "money", get: money((m) => m.balance, 0) },
  country: { kind: "text", get: (m) => m.country },
  city: { kind: "text", get: (m) => m.city },
  delinquent: { kind: "boolean", get: (m) => m.delinquent },
  plan_names: { kind: "text", get: (m) => (m.planNames.length === 0 ? null : m.planNames.join(", ")) },
  coupon_name: { kind: "text", get: (m) => m.couponName },
  // From the MRR history (projector view customer_mrr_summary); none is mapped by default.
  first_paid_at: { kind: "date", get: (m) => m.mrrHistory?.firstPaidAt ?? null },
  mrr_last_movement: { kind: "text", get: (m, currency) => m.mrrHistory?.lastMovement[currency] ?? null },
  mrr_last_change: { kind: "money", get: (m, currency) => m.mrrHistory?.lastChange[currency] ?? null },
};

/** Fields read from the MRR history: the source reads it only when the config uses one. */
export const HISTORY_FIELDS: ReadonlySet<string> = new Set(["first_paid_at", "mrr_last_movement", "mrr_last_change"]);

export const isMetadataField = (name: string): boolean => /^metadata\.[A-Za-z0-9_\-.]+$/.test(name);
export const isKnownField = (name: string): boolean => name in FIELDS || isMetadataField(name);
export const fieldKind = (name: string): FieldKind => FIELDS[name]?.kind ?? "text";

/** Which attribute types a field may be written to; `text` takes anything (stringified). */
export const naturalType = (kind: FieldKind): BrevoAttributeType =>
  kind === "money" || kind === "number" ? "float" : kind === "date" ? "date" : kind === "boolean" ? "boolean" : "text";
export const compatible = (kind: FieldKind, type: BrevoAttributeType): boolean =>
  type === "text" || naturalType(kind) === type;

/** Raw field value for predicates: money stays in minor units so thresholds are exact. */
export function rawField(m: CustomerReadModel, field: string, currency: string): number | string | boolean | null {
  if (isMetadataField(field)) return m.metadata[field.slice("metadata.".length)] ?? null;
  return FIELDS[field]?.get(m, currency) ?? null;
}

/**
 * The value Brevo stores, typed for the attribute so it is never silently dropped: money in major
 * units, dates as YYYY-MM-DD (Brevo date attributes hold days), text trimmed and non-empty.
 */
export function attributeValue(
  m: CustomerReadModel,
  field: string,
  type: BrevoAttributeType,
  currency: string,
): AttributeValue | null {
  const raw = rawField(m, field, currency);
  if (raw === null) return null;
  const kind = isMetadataField(field) ? "text" : fieldKind(field);
  const natural: AttributeValue =
    kind === "money" && typeof raw === "number"
      ? toMajorUnits(raw, currency)
      : kind === "date" && typeof raw === "number"
        ? new Date(raw * 1000).toISOString().slice(0, 10)
        : raw;
  if (type === "text") {
    const s = String(natural).trim();
    return s === "" ? null : s;
  }
  return natural;
}

/**
 * The currency money attributes are shown in: the Stripe customer's own currency, else the one
 * currency the customer has amounts in, else the configured fallback. Amounts in other
 * currencies are not summed (no FX rates here): they are left out of money attributes.
 */
export function contactCurrency(m: CustomerReadModel, fallback: string): string {
  if (m.currency) return m.currency.toLowerCase();
  const seen = new Set([...Object.keys(m.totalSpent), ...Object.keys(m.mrr)]);
  if (seen.size >= 1) return [...seen].sort()[0] ?? fallback;
  return fallback;
}
