/**
 * Builders of raw Stripe events for the tests, in both payload shapes (before and after API
 * version 2025-03-31.basil). Only the fields the projector reads are filled in, plus a few that
 * real payloads carry, so the loose schemas are exercised as they are in production.
 */
import type { ReadModelOptions } from "./derive.ts";
import { type DecodedEvent, decodeEvent } from "./events.ts";
import { foldAll, readModels } from "./fold.ts";
import type { CustomerReadModel } from "./read-model.ts";

export type Shape = "legacy" | "basil";
export const API_VERSION: Readonly<Record<Shape, string>> = { legacy: "2024-06-20", basil: "2025-03-31.basil" };

export type RawObject = Record<string, unknown>;
export interface RawEvent {
  id: string;
  object: "event";
  type: string;
  created: number;
  api_version: string;
  livemode: boolean;
  data: { object: RawObject };
}

export const event = (
  type: string,
  created: number,
  object: RawObject,
  options: { id?: string; shape?: Shape } = {},
): RawEvent => ({
  id: options.id ?? `evt_${type}_${String(object["id"])}_${created}`,
  object: "event",
  type,
  created,
  api_version: API_VERSION[options.shape ?? "legacy"],
  livemode: false,
  data: { object },
});

export const customer = (id: string, fields: RawObject = {}): RawObject => ({
  id,
  object: "customer",
  email: `${id}@example.com`,
  name: `Name ${id}`,
  phone: null,
  currency: "usd",
  created: 1_700_000_000,
  metadata: {},
  discount: null,
  ...fields,
});

export const charge = (id: string, customerId: string | null, fields: RawObject = {}): RawObject => ({
  id,
  object: "charge",
  customer: customerId,
  status: "succeeded",
  captured: true,
  paid: true,
  amount: 1000,
  amount_captured: 1000,
  amount_refunded: 0,
  refunded: false,
  currency: "usd",
  created: 1_700_000_000,
  ...fields,
});

export const refund = (id: string, chargeId: string, fields: RawObject = {}): RawObject => ({
  id,
  object: "refund",
  charge: chargeId,
  amount: 100,
  currency: "usd",
  status: "succeeded",
  ...fields,
});

export const dispute = (id: string, chargeId: string, fields: RawObject = {}): RawObject => ({
  id,
  object: "dispute",
  charge: chargeId,
  amount: 1000,
  currency: "usd",
  status: "needs_response",
  created: 1_700_000_000,
  ...fields,
});

export const product = (id: string, name: string | null): RawObject => ({ id, object: "product", name, active: true });

export interface CouponSpec {
  id: string;
  duration: "forever" | "once" | "repeating";
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  currency_options?: Record<string, { amount_off: number }>;
}

export const coupon = (spec: CouponSpec): RawObject => ({
  object: "coupon",
  percent_off: null,
  amount_off: null,
  currency: null,
  duration_in_months: spec.duration === "repeating" ? 3 : null,
  valid: true,
  ...spec,
});

/** A discount object. `clover` renders the coupon as `source.coupon` (an id), as 2025-09-30.clover does. */
export const discount = (
  id: string,
  spec: CouponSpec,
  options: { subscription?: string; customer?: string; clover?: boolean } = {},
): RawObject => ({
  id,
  object: "discount",
  customer: options.customer ?? null,
  subscription: options.subscription ?? null,
  ...(options.clover ? { source: { type: "coupon", coupon: spec.id } } : { coupon: coupon(spec) }),
  start: 1_700_000_000,
  end: null,
});

export interface PriceSpec {
  id: string;
  unit_amount?: number | null;
  unit_amount_decimal?: string;
  currency?: string;
  interval?: "day" | "week" | "month" | "year";
  interval_count?: number;
  usage_type?: "licensed" | "metered";
  nickname?: string | null;
  product?: string;
  recurring?: false;
  billing_scheme?: "per_unit" | "tiered";
  tiers_mode?: "volume" | "graduated";
  tiers?: { up_to: number | null; unit_amount: number | null; flat_amount: number | null }[];
  transform_quantity?: { divide_by: number; round: "up" | "down" };
}

export const price = (spec: PriceSpec): RawObject => ({
  id: spec.id,
  object: "price",
  active: true,
  currency: spec.currency ?? "usd",
  nickname: spec.nickname ?? null,
  product: spec.product ?? `prod_${spec.id}`,
  unit_amount: spec.unit_amount === undefined ? 1000 : spec.unit_amount,
  ...(spec.unit_amount_decimal === undefined ? {} : { unit_amount_decimal: spec.unit_amount_decimal }),
  billing_scheme: spec.billing_scheme ?? "per_unit",
  tiers_mode: spec.tiers_mode ?? null,
  ...(spec.tiers ? { tiers: spec.tiers } : {}),
  transform_quantity: spec.transform_quantity ?? null,
  type: spec.recurring === false ? "one_time" : "recurring",
  recurring:
    spec.recurring === false
      ? null
      : {
          interval: spec.interval ?? "month",
          interval_count: spec.interval_count ?? 1,
          usage_type: spec.usage_type ?? "licensed",
          meter: null,
          trial_period_days: null,
        },
});

export interface ItemSpec extends PriceSpec {
  quantity?: number | null;
  itemDiscounts?: (string | RawObject)[];
}

export interface SubscriptionSpec {
  id: string;
  customer: string;
  status?: string;
  created?: number;
  start_date?: number;
  currency?: string;
  cancel_at_period_end?: boolean;
  trial_end?: number | null;
  current_period_end?: number;
  items?: ItemSpec[];
  /** Expanded discount objects (legacy: first one also as `discount`) or ids. */
  discounts?: (string | RawObject)[];
}

/**
 * A subscription in either shape: `legacy` carries `current_period_*` at the top level and the
 * single expanded `discount`; `basil` carries them per item and lists discounts by id only.
 */
export const subscription = (spec: SubscriptionSpec, shape: Shape = "legacy"): RawObject => {
  const periodEnd = spec.current_period_end ?? 1_702_592_000;
  const periodStart = periodEnd - 30 * 86_400;
  const items = (spec.items ?? [{ id: "price_default" }]).map((item, index) => ({
    id: `si_${spec.id}_${index}`,
    object: "subscription_item",
    quantity: item.quantity === undefined ? 1 : item.quantity,
    price: price(item),
    discounts: (item.itemDiscounts ?? []).map((d) => (shape === "basil" && typeof d !== "string" ? d["id"] : d)),
    ...(shape === "basil" ? { current_period_start: periodStart, current_period_end: periodEnd } : {}),
  }));
  const discounts = spec.discounts ?? [];
  const first = discounts[0];
  return {
    id: spec.id,
    object: "subscription",
    customer: spec.customer,
    status: spec.status ?? "active",
    created: spec.created ?? 1_700_000_000,
    start_date: spec.start_date ?? spec.created ?? 1_700_000_000,
    currency: spec.currency ?? spec.items?.[0]?.currency ?? "usd",
    cancel_at_period_end: spec.cancel_at_period_end ?? false,
    trial_end: spec.trial_end ?? null,
    items: { object: "list", data: items },
    ...(shape === "legacy"
      ? {
          current_period_start: periodStart,
          current_period_end: periodEnd,
          discount: typeof first === "object" ? first : null,
          discounts: discounts.map((d) => (typeof d === "string" ? d : d["id"])),
        }
      : { discounts: discounts.map((d) => (typeof d === "string" ? d : d["id"])) }),
  };
};

/**
 * A subscription as rendered before 2017: one top-level `plan` (with its own `name`, `amount`,
 * `interval`) and `quantity`, no `items`, `start` instead of `start_date`, a single `discount`.
 */
export const pre2017Subscription = (spec: {
  id: string;
  customer: string;
  status?: string;
  created?: number;
  plan?: string;
  name?: string;
  amount?: number;
  interval?: "day" | "week" | "month" | "year";
  interval_count?: number;
  quantity?: number;
  currency?: string;
  cancel_at_period_end?: boolean;
}): RawObject => ({
  id: spec.id,
  object: "subscription",
  customer: spec.customer,
  status: spec.status ?? "active",
  start: spec.created ?? 1_400_000_000,
  cancel_at_period_end: spec.cancel_at_period_end ?? false,
  current_period_start: 1_400_000_000,
  current_period_end: 1_402_592_000,
  trial_start: null,
  trial_end: null,
  canceled_at: null,
  ended_at: null,
  quantity: spec.quantity ?? 1,
  discount: null,
  plan: {
    id: spec.plan ?? "gold",
    object: "plan",
    name: spec.name ?? "Gold Plan",
    amount: spec.amount ?? 2000,
    currency: spec.currency ?? "usd",
    interval: spec.interval ?? "month",
    interval_count: spec.interval_count ?? 1,
    livemode: false,
    trial_period_days: null,
    statement_description: null,
  },
});

export const invoice = (
  id: string,
  customerId: string,
  subscriptionId: string | null,
  shape: Shape,
  fields: RawObject = {},
): RawObject => ({
  id,
  object: "invoice",
  customer: customerId,
  status: "paid",
  currency: "usd",
  amount_paid: 1000,
  amount_due: 1000,
  ...(shape === "legacy"
    ? { subscription: subscriptionId }
    : {
        parent: subscriptionId
          ? { type: "subscription_details", subscription_details: { subscription: subscriptionId, metadata: {} } }
          : null,
      }),
  ...fields,
});

export const decodeAll = (raws: readonly unknown[]): DecodedEvent[] =>
  raws.map((raw) => {
    const result = decodeEvent(raw);
    if (!result.ok) throw new Error(`test event does not decode: ${result.reason}`);
    return result.event;
  });

/** Folds raw events and returns the read models by customer id. */
export const project = (raws: readonly unknown[], options?: ReadModelOptions): ReadonlyMap<string, CustomerReadModel> =>
  new Map(readModels(foldAll(decodeAll(raws)), options).map((m) => [m.customerId, m]));

/** The read model of one customer; fails the test if the customer has no row. */
export const projectOne = (raws: readonly unknown[], customerId: string, options?: ReadModelOptions) => {
  const model = project(raws, options).get(customerId);
  if (!model) throw new Error(`no read model for ${customerId}`);
  return model;
};
