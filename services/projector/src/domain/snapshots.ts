/**
 * Normalised snapshots: the few fields of each Stripe object the read model needs, in one shape
 * whatever API version rendered the event. Two renderings of the same state (e.g. before and
 * after 2025-03-31.basil) normalise to equal snapshots, so the tie-break never sees a difference
 * that is only a matter of payload shape.
 */

export type Metadata = Readonly<Record<string, string>>;

export interface CustomerSnapshot {
  readonly id: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly phone: string | null;
  /** Lower-case ISO code, or null when Stripe has not fixed one yet. */
  readonly currency: string | null;
  readonly created: number | null;
  readonly metadata: Metadata;
  /** Customer-level discount: applies to subscriptions that carry none of their own. */
  readonly discount: DiscountSnapshot | null;
  // Issue #20, present only when the payload has them (so snapshots of older events, and their
  // canonical JSON in the same-second tie-break, stay as they were).
  /** `balance`, minor units of `currency`; negative is credit the customer holds. */
  readonly balance?: number;
  /** `address.country` (ISO 3166-1 alpha-2) and `address.city`. */
  readonly country?: string;
  readonly city?: string;
  readonly delinquent?: boolean;
}

export interface ChargeSnapshot {
  readonly id: string;
  readonly customer: string | null;
  readonly status: string;
  readonly captured: boolean;
  readonly amount: number;
  readonly amountCaptured: number;
  readonly amountRefunded: number;
  readonly currency: string;
  readonly created: number | null;
}

export interface RefundSnapshot {
  readonly id: string;
  readonly charge: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly status: string | null;
}

export interface DisputeSnapshot {
  readonly id: string;
  readonly charge: string | null;
  readonly amount: number;
  readonly currency: string;
  readonly status: string;
}

export interface InvoiceSnapshot {
  readonly id: string;
  readonly customer: string | null;
  readonly status: string | null;
  /** `invoice.subscription` before basil, `invoice.parent.subscription_details.subscription` after. */
  readonly subscription: string | null;
  readonly currency: string | null;
  readonly amountPaid: number | null;
  readonly amountDue: number | null;
}

export interface ProductSnapshot {
  readonly id: string;
  readonly name: string | null;
}

export interface CouponSnapshot {
  readonly id: string;
  /** forever | once | repeating */
  readonly duration: string | null;
  readonly percentOff: number | null;
  readonly amountOff: number | null;
  readonly currency: string | null;
  /** `currency_options[c].amount_off`, for amount_off coupons usable in several currencies. */
  readonly amountOffByCurrency: Readonly<Record<string, number>>;
  /** The coupon's display name, when it has one (issue #20: COUPON attribute). */
  readonly name?: string;
}

export interface DiscountSnapshot {
  /** Null only for discounts rendered before Stripe gave them ids (pre 2020). */
  readonly id: string | null;
  /** The coupon itself when embedded (before 2025-09-30.clover), else its id (`source.coupon`). */
  readonly coupon: CouponSnapshot | string | null;
  readonly customer: string | null;
  readonly subscription: string | null;
}

/** A discount as a subscription lists it: an id (basil webhooks) or the expanded object. */
export type DiscountRef = string | DiscountSnapshot;

export interface TierSnapshot {
  readonly upTo: number | null;
  readonly unitAmountDecimal: string | null;
  readonly flatAmountDecimal: string | null;
}

export interface RecurringSnapshot {
  readonly interval: string;
  readonly intervalCount: number;
  /** licensed | metered */
  readonly usageType: string;
}

/** A price, or a legacy plan normalised to a price. */
export interface PriceSnapshot {
  readonly id: string;
  readonly nickname: string | null;
  readonly product: string | null;
  /** Product name when the product was expanded in the payload. */
  readonly productName: string | null;
  readonly currency: string | null;
  /** `unit_amount_decimal`, else `unit_amount` (minor units, may be fractional). */
  readonly unitAmountDecimal: string | null;
  readonly billingScheme: string | null;
  readonly tiersMode: string | null;
  /** Only present when the payload expanded `tiers`. */
  readonly tiers: readonly TierSnapshot[] | null;
  readonly recurring: RecurringSnapshot | null;
  readonly transformQuantity: { readonly divideBy: number; readonly round: string } | null;
}

export interface SubscriptionItemSnapshot {
  readonly id: string | null;
  readonly quantity: number | null;
  readonly price: PriceSnapshot | null;
  readonly discounts: readonly DiscountRef[];
}

export interface SubscriptionSnapshot {
  readonly id: string;
  readonly customer: string | null;
  readonly status: string;
  readonly created: number | null;
  readonly startDate: number | null;
  readonly trialEnd: number | null;
  readonly cancelAtPeriodEnd: boolean;
  /** Top-level before basil; after basil the earliest `items.data[].current_period_end`. */
  readonly currentPeriodEnd: number | null;
  readonly currency: string | null;
  readonly items: readonly SubscriptionItemSnapshot[];
  /** `discount` (pre-basil, single) and `discounts` (array) merged, de-duplicated by id. */
  readonly discounts: readonly DiscountRef[];
}

/** One snapshot of one Stripe object, tagged with its kind. */
export type ObjectSnapshot =
  | { readonly kind: "customer"; readonly data: CustomerSnapshot }
  | { readonly kind: "charge"; readonly data: ChargeSnapshot }
  | { readonly kind: "refund"; readonly data: RefundSnapshot }
  | { readonly kind: "dispute"; readonly data: DisputeSnapshot }
  | { readonly kind: "invoice"; readonly data: InvoiceSnapshot }
  | { readonly kind: "subscription"; readonly data: SubscriptionSnapshot }
  | { readonly kind: "product"; readonly data: ProductSnapshot }
  | { readonly kind: "price"; readonly data: PriceSnapshot }
  | { readonly kind: "coupon"; readonly data: CouponSnapshot }
  | { readonly kind: "discount"; readonly data: DiscountSnapshot & { readonly id: string } };

export type ObjectKind = ObjectSnapshot["kind"];
