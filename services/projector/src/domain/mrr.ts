import type { Fact, PriceFact } from "./facts.ts";
import { type Money, moneyFromRatios } from "./money.ts";
import {
  add,
  div,
  fromDecimalString,
  fromNumber,
  isNegative,
  mul,
  ONE,
  type Ratio,
  ratio,
  sub,
  ZERO,
} from "./ratio.ts";
import type {
  CouponSnapshot,
  CustomerSnapshot,
  DiscountRef,
  DiscountSnapshot,
  PriceSnapshot,
  SubscriptionItemSnapshot,
  SubscriptionSnapshot,
} from "./snapshots.ts";

/**
 * Monthly recurring revenue. The defaults are Stripe Billing's published definition
 * (DOMAIN.md §2); other vendors' definitions are expressed with the same knobs.
 */
export interface MrrRules {
  /** Subscription statuses that count. Stripe: active and past_due (trials excluded). */
  readonly statuses: readonly string[];
  /**
   * Stripe removes a subscription set to cancel at period end from MRR at once; ProfitWell keeps
   * it until the period ends (the fold has no clock, so "until then" means "still counted").
   */
  readonly excludeCancelAtPeriodEnd: boolean;
  /** Which attached discounts reduce MRR: Stripe's older rule is `forever` coupons only. */
  readonly discounts: "forever" | "all" | "none";
  /**
   * Apply the customer-level discount to subscriptions that carry no discount of their own, as
   * Stripe's invoices do.
   */
  readonly customerDiscounts: boolean;
  /**
   * Months in one interval unit. Stripe: day 12/365, week 12/52 (i.e. ×365/12 and ×52/12 per
   * month); Paddle: day 1/30, week 1/4.33.
   */
  readonly monthsPerUnit: Readonly<Record<"day" | "week" | "month" | "year", Ratio>>;
}

const STRIPE_MONTHS_PER_UNIT = {
  day: ratio(12, 365),
  week: ratio(12, 52),
  month: ONE,
  year: ratio(12),
} as const;

export const STRIPE_MRR_RULES: MrrRules = {
  statuses: ["active", "past_due"],
  excludeCancelAtPeriodEnd: true,
  discounts: "forever",
  customerDiscounts: true,
  monthsPerUnit: STRIPE_MONTHS_PER_UNIT,
};

/** ProfitWell: keeps cancel_at_period_end subscriptions until the period ends, subtracts all discounts. */
export const PROFITWELL_MRR_RULES: MrrRules = {
  ...STRIPE_MRR_RULES,
  excludeCancelAtPeriodEnd: false,
  discounts: "all",
};

/** ChartMogul: deducts all discounts (DOMAIN.md states nothing else, so the rest stays Stripe's). */
export const CHARTMOGUL_MRR_RULES: MrrRules = { ...STRIPE_MRR_RULES, discounts: "all" };

/** Paddle: ×30 per day and ×4.33 per week. */
export const PADDLE_MRR_RULES: MrrRules = {
  ...STRIPE_MRR_RULES,
  monthsPerUnit: { ...STRIPE_MONTHS_PER_UNIT, day: ratio(1, 30), week: ratio(100, 433) },
};

/** Lookups of objects known only by id inside a subscription payload. */
export interface DiscountCatalog {
  readonly discount: (id: string) => Fact<DiscountSnapshot> | undefined;
  readonly coupon: (id: string) => Fact<CouponSnapshot> | undefined;
}

/** What MRR looks up: discounts and coupons, and prices for the tiers payloads leave out. */
export interface MrrCatalog extends DiscountCatalog {
  readonly price: (id: string) => PriceFact | undefined;
}

/**
 * The tiers of an item's tiered price: the payload's when it expanded them, else those a
 * price snapshot carried (backfill lists prices with `expand[]=data.tiers`). Subscription
 * payloads never carry them: `data.items.data.price.tiers` is deeper than Stripe expands.
 */
const tiersOf = (price: PriceSnapshot, catalog: MrrCatalog): PriceSnapshot["tiers"] => {
  if (price.tiers !== null) return price.tiers;
  const known = catalog.price(price.id);
  return known?.tiers ?? known?.winner.data.tiers ?? null;
};

/**
 * Why an item cannot be priced, or null when it can: metered usage is billed in arrears (no
 * recurring amount to count), and a tiered price whose tiers no payload carried has no amount.
 */
export const unpricedReason = (
  item: SubscriptionItemSnapshot,
  catalog: MrrCatalog,
): "metered" | "tiers_unknown" | null => {
  const price = item.price;
  if (!price?.recurring) return null;
  if (price.recurring.usageType === "metered") return "metered";
  if (price.billingScheme === "tiered" && (tiersOf(price, catalog)?.length ?? 0) === 0) return "tiers_unknown";
  return null;
};

/** Monthly factor for `interval_count` n: month 1/n, year 1/(12n), week 52/(12n), day 365/(12n). */
export const monthlyFactor = (rules: MrrRules, interval: string, intervalCount: number): Ratio | null => {
  const unit =
    interval === "day" || interval === "week" || interval === "month" || interval === "year"
      ? rules.monthsPerUnit[interval]
      : null;
  if (unit === null || intervalCount <= 0) return null;
  return div(ONE, mul(unit, ratio(intervalCount)));
};

const decimal = (value: string | null): Ratio => (value === null ? ZERO : (fromDecimalString(value) ?? ZERO));

/** Billed quantity: `transform_quantity` divides and rounds the quantity before pricing. */
const billedQuantity = (item: SubscriptionItemSnapshot, price: PriceSnapshot): number => {
  const quantity = item.quantity ?? 1;
  const t = price.transformQuantity;
  if (t === null) return quantity;
  return t.round === "up" ? Math.ceil(quantity / t.divideBy) : Math.floor(quantity / t.divideBy);
};

/**
 * Amount of one item per billing interval, in minor units. Tiered prices are priced from their
 * tiers (see `tiersOf`); when no payload carried them the item counts as 0 and
 * `unpricedSubscriptions` reports it.
 */
const itemAmountPerInterval = (item: SubscriptionItemSnapshot, price: PriceSnapshot, catalog: MrrCatalog): Ratio => {
  const quantity = billedQuantity(item, price);
  if (price.billingScheme !== "tiered") return mul(decimal(price.unitAmountDecimal), ratio(quantity));
  const tiers = tiersOf(price, catalog);
  if (tiers === null || tiers.length === 0) return ZERO;
  if (price.tiersMode === "volume") {
    const tier = tiers.find((t) => t.upTo === null || quantity <= t.upTo) ?? tiers[tiers.length - 1];
    if (tier === undefined) return ZERO;
    return add(mul(decimal(tier.unitAmountDecimal), ratio(quantity)), decimal(tier.flatAmountDecimal));
  }
  // graduated: each tier prices the units that fall inside it.
  let total = ZERO;
  let floor = 0;
  for (const tier of tiers) {
    if (quantity <= floor) break;
    const ceiling = tier.upTo === null ? quantity : Math.min(quantity, tier.upTo);
    const units = ceiling - floor;
    if (units > 0)
      total = add(total, add(mul(decimal(tier.unitAmountDecimal), ratio(units)), decimal(tier.flatAmountDecimal)));
    floor = ceiling;
  }
  return total;
};

export const resolveDiscount = (entry: DiscountRef, catalog: DiscountCatalog): DiscountSnapshot | null => {
  const id = typeof entry === "string" ? entry : entry.id;
  const known = id === null ? undefined : catalog.discount(id);
  // A deleted discount has ended, even if an older subscription snapshot still lists it.
  if (known?.winner.deleted) return null;
  if (typeof entry !== "string") return entry;
  return known?.winner.data ?? null;
};

export const resolveCoupon = (discount: DiscountSnapshot, catalog: DiscountCatalog): CouponSnapshot | null => {
  const coupon = discount.coupon;
  if (coupon === null) return null;
  return typeof coupon === "string" ? (catalog.coupon(coupon)?.winner.data ?? null) : coupon;
};

/** The coupons of a discount list that reduce MRR under the rules, in listed order. */
const applicableCoupons = (
  entries: readonly DiscountRef[],
  rules: MrrRules,
  catalog: DiscountCatalog,
): CouponSnapshot[] => {
  if (rules.discounts === "none") return [];
  const out: CouponSnapshot[] = [];
  for (const entry of entries) {
    const discount = resolveDiscount(entry, catalog);
    // A discount whose coupon was never seen cannot be priced; it is left out rather than guessed.
    const coupon = discount === null ? null : resolveCoupon(discount, catalog);
    if (coupon === null) continue;
    if (rules.discounts === "forever" && coupon.duration !== "forever") continue;
    out.push(coupon);
  }
  return out;
};

/**
 * Applies coupons one after the other, as Stripe applies stacked discounts: a percentage takes
 * its share of what is left, a fixed amount (per billing interval, hence `factor`) is taken off.
 * Never below zero.
 */
const applyCoupons = (amount: Ratio, coupons: readonly CouponSnapshot[], currency: string, factor: Ratio): Ratio => {
  let left = amount;
  for (const coupon of coupons) {
    if (coupon.percentOff !== null) {
      left = sub(left, div(mul(left, fromNumber(coupon.percentOff)), ratio(100)));
    } else {
      const off = coupon.currency === currency ? coupon.amountOff : (coupon.amountOffByCurrency[currency] ?? null);
      // An amount_off coupon in another currency does not apply to this subscription.
      if (off !== null) left = sub(left, mul(ratio(off), factor));
    }
    if (isNegative(left)) left = ZERO;
  }
  return left;
};

/** Whether the subscription counts toward MRR at all under the rules. */
export const countsTowardMrr = (s: SubscriptionSnapshot, deleted: boolean, rules: MrrRules): boolean =>
  !deleted && rules.statuses.includes(s.status) && !(rules.excludeCancelAtPeriodEnd && s.cancelAtPeriodEnd);

/**
 * Exact (unrounded) monthly amount of one subscription in its currency, or null when it does not
 * count. Licensed recurring items only: metered usage and one-off prices are excluded.
 */
export const subscriptionMrr = (
  fact: Fact<SubscriptionSnapshot>,
  customer: CustomerSnapshot | null,
  rules: MrrRules,
  catalog: MrrCatalog,
): { readonly currency: string; readonly amount: Ratio } | null => {
  const s = fact.winner.data;
  if (!countsTowardMrr(s, fact.winner.deleted, rules)) return null;
  const currency = s.currency ?? s.items.find((i) => i.price?.currency)?.price?.currency ?? null;
  if (currency === null) return null;

  let total = ZERO;
  // Interval of the subscription's first licensed item: amount_off coupons are per invoice.
  let subscriptionFactor: Ratio | null = null;
  for (const item of s.items) {
    const price = item.price;
    const recurring = price?.recurring;
    if (!price || !recurring || recurring.usageType === "metered") continue;
    const factor = monthlyFactor(rules, recurring.interval, recurring.intervalCount);
    if (factor === null) continue;
    subscriptionFactor ??= factor;
    const perInterval = applyCoupons(
      itemAmountPerInterval(item, price, catalog),
      applicableCoupons(item.discounts, rules, catalog),
      currency,
      ONE,
    );
    total = add(total, mul(perInterval, factor));
  }

  const hasOwnDiscounts = s.discounts.length > 0 || s.items.some((i) => i.discounts.length > 0);
  const entries =
    hasOwnDiscounts || !rules.customerDiscounts || customer?.discount == null ? s.discounts : [customer.discount];
  return {
    currency,
    amount: applyCoupons(total, applicableCoupons(entries, rules, catalog), currency, subscriptionFactor ?? ONE),
  };
};

/** MRR per currency over a customer's subscriptions, rounded half away from zero at the end. */
export const customerMrr = (
  subscriptions: readonly Fact<SubscriptionSnapshot>[],
  customer: CustomerSnapshot | null,
  rules: MrrRules,
  catalog: MrrCatalog,
): Money => {
  const sums = new Map<string, Ratio>();
  for (const fact of subscriptions) {
    const m = subscriptionMrr(fact, customer, rules, catalog);
    if (m !== null) sums.set(m.currency, add(sums.get(m.currency) ?? ZERO, m.amount));
  }
  return moneyFromRatios(sums);
};

export interface UnpricedSubscriptions {
  /** Counted subscriptions with at least one item MRR leaves out. */
  readonly total: number;
  /** … of which some item is metered usage (billed in arrears: no recurring amount). */
  readonly metered: number;
  /** … of which some item has a tiered price whose tiers no payload carried. */
  readonly tiersUnknown: number;
}

/**
 * Subscriptions that count toward MRR under the rules but have an item MRR leaves out: their
 * MRR is understated by that item. `pnpm cli status` reports it.
 */
export const unpricedSubscriptions = (
  subscriptions: Iterable<Fact<SubscriptionSnapshot>>,
  rules: MrrRules,
  catalog: MrrCatalog,
): UnpricedSubscriptions => {
  let total = 0;
  let metered = 0;
  let tiersUnknown = 0;
  for (const fact of subscriptions) {
    if (!countsTowardMrr(fact.winner.data, fact.winner.deleted, rules)) continue;
    const reasons = new Set(fact.winner.data.items.map((item) => unpricedReason(item, catalog)));
    if (reasons.has("metered")) metered++;
    if (reasons.has("tiers_unknown")) tiersUnknown++;
    if (reasons.has("metered") || reasons.has("tiers_unknown")) total++;
  }
  return { total, metered, tiersUnknown };
};
