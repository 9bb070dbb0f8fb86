import { z } from "zod";
import { compareStrings } from "./canonical-json.ts";
import type {
  ChargeSnapshot,
  CouponSnapshot,
  CustomerSnapshot,
  DiscountRef,
  DiscountSnapshot,
  DisputeSnapshot,
  InvoiceSnapshot,
  Metadata,
  ObjectKind,
  ObjectSnapshot,
  PriceSnapshot,
  ProductSnapshot,
  RefundSnapshot,
  SubscriptionItemSnapshot,
  SubscriptionSnapshot,
  TierSnapshot,
} from "./snapshots.ts";

/*
 * Zod schemas for the Stripe objects the projector reads, and their normalisation to snapshots. They are loose in what they accept:
 * Stripe adds fields all the time and each API version renders a different set, so only the
 * fields read here are checked, and fields that some API versions omit are `nullish`.
 * `z.object` (which accepts and drops unknown keys) rather than `z.looseObject` (which copies
 * them): a Stripe object carries ~100 fields the projector never reads, and copying them made
 * decoding ~5× slower (23k vs 43k events/s with JSON.parse, 3 KB payloads) — the projector's
 * budget is 20k events/s end to end.
 */

const str = z.string().nullish();
const int = z.number().int().nullish();
// Unix seconds up to the year 9999, so every time can be rendered as an ISO-8601 string.
const MAX_UNIX = 253_402_300_799;
export const unixTime = z.number().int().nonnegative().max(MAX_UNIX);
const unix = unixTime.nullish();
/** An expandable reference: an id, or the expanded object. */
const ref = z.union([z.string(), z.object({ id: z.string() })]).nullish();
const metadata = z.record(z.string(), z.unknown()).nullish();

const CouponSchema = z.object({
  id: z.string(),
  duration: str,
  percent_off: z.number().nullish(),
  amount_off: int,
  currency: str,
  currency_options: z.record(z.string(), z.object({ amount_off: int })).nullish(),
  name: str,
});

const DiscountSchema = z.object({
  id: str,
  // Before 2025-09-30.clover the coupon is embedded; after it sits in `source.coupon`.
  coupon: z.union([z.string(), CouponSchema]).nullish(),
  source: z.object({ coupon: z.union([z.string(), CouponSchema]).nullish() }).nullish(),
  customer: ref,
  subscription: ref,
});

const CustomerSchema = z.object({
  id: z.string(),
  email: str,
  name: str,
  phone: str,
  currency: str,
  created: unix,
  metadata,
  discount: DiscountSchema.nullish(),
  deleted: z.boolean().nullish(),
  balance: int,
  address: z.object({ country: str, city: str }).nullish(),
  delinquent: z.boolean().nullish(),
});

const ChargeSchema = z.object({
  id: z.string(),
  customer: ref,
  // Absent on the oldest charges, which only say `paid`; "paid" until 2015-02-18, "succeeded" since.
  status: str,
  paid: z.boolean().nullish(),
  refunded: z.boolean().nullish(),
  failure_code: str,
  captured: z.boolean().nullish(),
  amount: z.number().int(),
  amount_captured: int,
  amount_refunded: int,
  currency: z.string(),
  created: unix,
});

const RefundSchema = z.object({
  id: z.string(),
  charge: ref,
  amount: z.number().int(),
  currency: z.string(),
  status: str,
});

const DisputeSchema = z.object({
  id: z.string(),
  charge: ref,
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
});

const InvoiceSchema = z.object({
  id: z.string(),
  customer: ref,
  status: str,
  subscription: ref,
  parent: z.object({ subscription_details: z.object({ subscription: ref }).nullish() }).nullish(),
  currency: str,
  amount_paid: int,
  amount_due: int,
});

const ProductSchema = z.object({ id: z.string(), name: str });

const TierSchema = z.object({
  up_to: z.number().nullish(),
  unit_amount: z.number().nullish(),
  unit_amount_decimal: str,
  flat_amount: z.number().nullish(),
  flat_amount_decimal: str,
});

const PriceSchema = z.object({
  id: z.string(),
  nickname: str,
  product: z.union([z.string(), z.object({ id: z.string(), name: str })]).nullish(),
  currency: str,
  unit_amount: z.number().nullish(),
  unit_amount_decimal: str,
  billing_scheme: str,
  tiers_mode: str,
  tiers: z.array(TierSchema).nullish(),
  recurring: z
    .object({ interval: z.string(), interval_count: z.number().int().positive().nullish(), usage_type: str })
    .nullish(),
  transform_quantity: z.object({ divide_by: z.number().int().positive(), round: z.string() }).nullish(),
});

/** Legacy plan objects (items before prices existed) carry the recurring fields at top level. */
const PlanSchema = z.object({
  id: z.string(),
  nickname: str,
  // Before 2018-02-05 a plan had its own name (since then it is the product's).
  name: str,
  product: z.union([z.string(), z.object({ id: z.string(), name: str })]).nullish(),
  currency: str,
  amount: z.number().nullish(),
  amount_decimal: str,
  billing_scheme: str,
  tiers_mode: str,
  tiers: z.array(TierSchema).nullish(),
  interval: str,
  interval_count: z.number().int().positive().nullish(),
  usage_type: str,
  transform_usage: z.object({ divide_by: z.number().int().positive(), round: z.string() }).nullish(),
});

const DiscountRefSchema = z.union([z.string(), DiscountSchema]);

const SubscriptionItemSchema = z.object({
  id: str,
  quantity: int,
  price: PriceSchema.nullish(),
  plan: PlanSchema.nullish(),
  discounts: z.array(DiscountRefSchema).nullish(),
  current_period_end: unix,
});

const SubscriptionSchema = z.object({
  id: z.string(),
  customer: ref,
  status: str,
  created: unix,
  start_date: unix,
  trial_end: unix,
  cancel_at_period_end: z.boolean().nullish(),
  current_period_end: unix,
  currency: str,
  items: z.object({ data: z.array(SubscriptionItemSchema) }).nullish(),
  // Before 2017 a subscription had one plan and a quantity at top level, and `start` for its start.
  plan: PlanSchema.nullish(),
  quantity: int,
  start: unix,
  discount: DiscountSchema.nullish(),
  discounts: z.array(DiscountRefSchema).nullish(),
});

// ---------------------------------------------------------------------------------------------
// Normalisation: zod output → snapshot. Absent and null fields both become null.

const refId = (value: string | { id: string } | null | undefined): string | null =>
  value == null ? null : typeof value === "string" ? value : value.id;

const lower = (value: string | null | undefined): string | null => (value == null ? null : value.toLowerCase());

const toMetadata = (value: Record<string, unknown> | null | undefined): Metadata => {
  const out: Record<string, string> = {};
  // Sorted keys: equal metadata must also serialise identically whatever order it arrived in.
  for (const [key, v] of Object.entries(value ?? {}).sort(([a], [b]) => compareStrings(a, b))) {
    // Stripe metadata values are strings; tolerate scalars from hand-written events, drop nulls.
    if (typeof v === "string") out[key] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[key] = String(v);
  }
  return out;
};

const toCoupon = (c: z.infer<typeof CouponSchema>): CouponSnapshot => {
  const amountOffByCurrency: Record<string, number> = {};
  for (const [currency, option] of Object.entries(c.currency_options ?? {}).sort(([a], [b]) => compareStrings(a, b))) {
    if (option.amount_off != null) amountOffByCurrency[currency.toLowerCase()] = option.amount_off;
  }
  return {
    id: c.id,
    duration: c.duration ?? null,
    percentOff: c.percent_off ?? null,
    amountOff: c.amount_off ?? null,
    currency: lower(c.currency),
    amountOffByCurrency,
    ...(c.name ? { name: c.name } : {}),
  };
};

const toDiscount = (d: z.infer<typeof DiscountSchema>): DiscountSnapshot => {
  const coupon = d.coupon ?? d.source?.coupon ?? null;
  return {
    id: d.id ?? null,
    coupon: coupon == null ? null : typeof coupon === "string" ? coupon : toCoupon(coupon),
    customer: refId(d.customer),
    subscription: refId(d.subscription),
  };
};

/** Merges the pre-basil single `discount` with the `discounts` array, keeping one entry per id. */
const toDiscountRefs = (
  single: z.infer<typeof DiscountSchema> | null | undefined,
  many: readonly z.infer<typeof DiscountRefSchema>[] | null | undefined,
): DiscountRef[] => {
  const out: DiscountRef[] = [];
  const seen = new Set<string>();
  const push = (entry: DiscountRef): void => {
    const id = typeof entry === "string" ? entry : entry.id;
    if (id !== null) {
      const known = seen.has(id);
      seen.add(id);
      if (known) {
        // Prefer the expanded form: it carries the coupon.
        const index = out.findIndex((e) => (typeof e === "string" ? e : e.id) === id);
        if (typeof entry !== "string" && index >= 0) out[index] = entry;
        return;
      }
    }
    out.push(entry);
  };
  if (single) push(toDiscount(single));
  for (const entry of many ?? []) push(typeof entry === "string" ? entry : toDiscount(entry));
  return out;
};

const toTier = (t: z.infer<typeof TierSchema>): TierSnapshot => ({
  upTo: t.up_to ?? null,
  unitAmountDecimal: t.unit_amount_decimal ?? (t.unit_amount == null ? null : String(t.unit_amount)),
  flatAmountDecimal: t.flat_amount_decimal ?? (t.flat_amount == null ? null : String(t.flat_amount)),
});

const productName = (p: string | { id: string; name?: string | null | undefined } | null | undefined) =>
  p == null || typeof p === "string" ? null : (p.name ?? null);

const toPrice = (p: z.infer<typeof PriceSchema>): PriceSnapshot => ({
  id: p.id,
  nickname: p.nickname ?? null,
  product: refId(p.product),
  productName: productName(p.product),
  currency: lower(p.currency),
  unitAmountDecimal: p.unit_amount_decimal ?? (p.unit_amount == null ? null : String(p.unit_amount)),
  billingScheme: p.billing_scheme ?? null,
  tiersMode: p.tiers_mode ?? null,
  tiers: p.tiers ? p.tiers.map(toTier) : null,
  recurring: p.recurring
    ? {
        interval: p.recurring.interval,
        intervalCount: p.recurring.interval_count ?? 1,
        usageType: p.recurring.usage_type ?? "licensed",
      }
    : null,
  transformQuantity: p.transform_quantity
    ? { divideBy: p.transform_quantity.divide_by, round: p.transform_quantity.round }
    : null,
});

const planToPrice = (p: z.infer<typeof PlanSchema>): PriceSnapshot => ({
  id: p.id,
  nickname: p.nickname ?? null,
  product: refId(p.product),
  productName: productName(p.product) ?? p.name ?? null,
  currency: lower(p.currency),
  unitAmountDecimal: p.amount_decimal ?? (p.amount == null ? null : String(p.amount)),
  billingScheme: p.billing_scheme ?? null,
  tiersMode: p.tiers_mode ?? null,
  tiers: p.tiers ? p.tiers.map(toTier) : null,
  recurring:
    p.interval == null
      ? null
      : { interval: p.interval, intervalCount: p.interval_count ?? 1, usageType: p.usage_type ?? "licensed" },
  transformQuantity: p.transform_usage
    ? { divideBy: p.transform_usage.divide_by, round: p.transform_usage.round }
    : null,
});

const toItem = (i: z.infer<typeof SubscriptionItemSchema>): SubscriptionItemSnapshot => ({
  id: i.id ?? null,
  quantity: i.quantity ?? null,
  // A basil item still carries `plan` as a legacy mirror of `price`; the price is authoritative.
  price: i.price ? toPrice(i.price) : i.plan ? planToPrice(i.plan) : null,
  discounts: toDiscountRefs(null, i.discounts),
});

/** Statuses a subscription can end in; deletion leaves these as they are. */
const ENDED_STATUSES: ReadonlySet<string> = new Set(["canceled", "incomplete_expired"]);

const toSubscription = (s: z.infer<typeof SubscriptionSchema>, deleted: boolean): SubscriptionSnapshot | string => {
  // Deletion ends the subscription whatever its payload still says: Stripe has sent
  // `customer.subscription.deleted` with `"status": "active"` (an immediate cancel rendered before
  // the status moved), and a stub may carry no status at all. Status, MRR and churn must agree.
  const status = deleted ? (s.status != null && ENDED_STATUSES.has(s.status) ? s.status : "canceled") : s.status;
  if (status == null) return "subscription has no status";
  // Before 2017 there were no items: the single top-level plan and quantity are its one item.
  const items: z.infer<typeof SubscriptionItemSchema>[] =
    s.items?.data ?? (s.plan ? [{ id: null, quantity: s.quantity ?? 1, plan: s.plan, discounts: null }] : []);
  // After basil the period lives on each item; all items share it under classic billing, and the
  // earliest one is the next renewal under flexible billing.
  const itemPeriodEnds = items.map((i) => i.current_period_end).filter((v): v is number => v != null);
  const currentPeriodEnd = s.current_period_end ?? (itemPeriodEnds.length ? Math.min(...itemPeriodEnds) : null);
  return {
    id: s.id,
    customer: refId(s.customer),
    status,
    created: s.created ?? null,
    // `start_date` appeared in 2019; before it `start` is the only start the payload has.
    startDate: s.start_date ?? s.start ?? null,
    trialEnd: s.trial_end ?? null,
    cancelAtPeriodEnd: s.cancel_at_period_end ?? false,
    currentPeriodEnd,
    currency: lower(s.currency),
    items: items.map(toItem),
    discounts: toDiscountRefs(s.discount, s.discounts),
  };
};

const toCustomer = (c: z.infer<typeof CustomerSchema>): CustomerSnapshot => ({
  id: c.id,
  email: c.email ?? null,
  name: c.name ?? null,
  phone: c.phone ?? null,
  currency: lower(c.currency),
  created: c.created ?? null,
  metadata: toMetadata(c.metadata),
  discount: c.discount ? toDiscount(c.discount) : null,
  ...(c.balance == null ? {} : { balance: c.balance }),
  ...(c.address?.country ? { country: c.address.country.toUpperCase() } : {}),
  ...(c.address?.city ? { city: c.address.city } : {}),
  ...(c.delinquent == null ? {} : { delinquent: c.delinquent }),
});

/**
 * The charge status in today's terms. Until 2015-02-18 a successful charge said `"paid"`; the
 * oldest charges have no status at all, only `paid` (and `failure_code` when it failed).
 */
const chargeStatus = (c: z.infer<typeof ChargeSchema>): string | null => {
  if (c.status === "paid") return "succeeded";
  if (c.status != null) return c.status;
  if (c.paid === true) return "succeeded";
  if (c.paid === false) return c.failure_code == null ? "pending" : "failed";
  return null;
};

const toCharge = (c: z.infer<typeof ChargeSchema>): ChargeSnapshot | string => {
  const status = chargeStatus(c);
  if (status === null) return "charge has neither status nor paid";
  // Charges before auth-and-capture existed have no `captured`: a paid one was captured.
  const captured = c.captured ?? status === "succeeded";
  return {
    id: c.id,
    customer: refId(c.customer),
    status,
    captured,
    amount: c.amount,
    // `amount_captured` appeared in 2019; before it a captured charge was captured in full.
    amountCaptured: c.amount_captured ?? (captured ? c.amount : 0),
    // Old charges may carry only `refunded: true` (fully refunded).
    amountRefunded: c.amount_refunded ?? (c.refunded === true ? c.amount : 0),
    currency: c.currency.toLowerCase(),
    created: c.created ?? null,
  };
};

const toInvoice = (i: z.infer<typeof InvoiceSchema>): InvoiceSnapshot => ({
  id: i.id,
  customer: refId(i.customer),
  status: i.status ?? null,
  subscription: refId(i.subscription) ?? refId(i.parent?.subscription_details?.subscription),
  currency: lower(i.currency),
  amountPaid: i.amount_paid ?? null,
  amountDue: i.amount_due ?? null,
});

export const describeIssues = (error: z.ZodError, prefix: string): string =>
  error.issues
    .slice(0, 3)
    .map((issue) => `${[prefix, ...issue.path.map(String)].join(".")}: ${issue.message}`)
    .join("; ");

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const parseWith = <S extends z.ZodType>(schema: S, value: unknown): Parsed<z.infer<S>> => {
  const result = schema.safeParse(value);
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, reason: describeIssues(result.error, "data.object") };
};

/** Parses a Stripe object of a known kind into its normalised snapshot. */
export const parseObjectSnapshot = (kind: ObjectKind, object: unknown, deleted: boolean): Parsed<ObjectSnapshot> => {
  switch (kind) {
    case "customer": {
      const p = parseWith(CustomerSchema, object);
      return p.ok ? { ok: true, value: { kind, data: toCustomer(p.value) } } : p;
    }
    case "charge": {
      const p = parseWith(ChargeSchema, object);
      if (!p.ok) return p;
      const data = toCharge(p.value);
      return typeof data === "string" ? { ok: false, reason: data } : { ok: true, value: { kind, data } };
    }
    case "refund": {
      const p = parseWith(RefundSchema, object);
      return p.ok
        ? {
            ok: true,
            value: {
              kind,
              data: {
                id: p.value.id,
                charge: refId(p.value.charge),
                amount: p.value.amount,
                currency: p.value.currency.toLowerCase(),
                status: p.value.status ?? null,
              } satisfies RefundSnapshot,
            },
          }
        : p;
    }
    case "dispute": {
      const p = parseWith(DisputeSchema, object);
      return p.ok
        ? {
            ok: true,
            value: {
              kind,
              data: {
                id: p.value.id,
                charge: refId(p.value.charge),
                amount: p.value.amount,
                currency: p.value.currency.toLowerCase(),
                status: p.value.status,
              } satisfies DisputeSnapshot,
            },
          }
        : p;
    }
    case "invoice": {
      const p = parseWith(InvoiceSchema, object);
      return p.ok ? { ok: true, value: { kind, data: toInvoice(p.value) } } : p;
    }
    case "subscription": {
      const p = parseWith(SubscriptionSchema, object);
      if (!p.ok) return p;
      const data = toSubscription(p.value, deleted);
      return typeof data === "string" ? { ok: false, reason: data } : { ok: true, value: { kind, data } };
    }
    case "product": {
      const p = parseWith(ProductSchema, object);
      return p.ok
        ? { ok: true, value: { kind, data: { id: p.value.id, name: p.value.name ?? null } satisfies ProductSnapshot } }
        : p;
    }
    case "price": {
      const p = parseWith(PriceSchema, object);
      return p.ok ? { ok: true, value: { kind, data: toPrice(p.value) } } : p;
    }
    case "coupon": {
      const p = parseWith(CouponSchema, object);
      return p.ok ? { ok: true, value: { kind, data: toCoupon(p.value) } } : p;
    }
    case "discount": {
      const p = parseWith(DiscountSchema, object);
      if (!p.ok) return p;
      const data = toDiscount(p.value);
      return data.id === null
        ? { ok: false, reason: "discount has no id" }
        : { ok: true, value: { kind, data: { ...data, id: data.id } } };
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
};
