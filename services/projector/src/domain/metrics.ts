import { compareStrings } from "./canonical-json.ts";
import {
  type ChargeFact,
  type DisputeFact,
  type PriceFact,
  type ProductFact,
  paidAt,
  type RefundFact,
  type SubscriptionFact,
} from "./facts.ts";
import { addTo, type Money, moneyFromMap, moneyFromRatios } from "./money.ts";
import { type Ratio, ratio } from "./ratio.ts";
import type { ChargeSnapshot } from "./snapshots.ts";

// ---------------------------------------------------------------------------------------------
// Payments

export interface PaymentMetrics {
  readonly paymentCount: number;
  readonly totalSpent: Money;
  readonly averageOrderValue: Money;
  readonly lastPaymentAt: number | null;
  readonly failedPaymentCount: number;
  readonly refundedTotal: Money;
  readonly disputeCount: number;
}

/** A "succeeded charge" (DOMAIN.md §2): latest snapshot succeeded and captured. */
export const isSucceeded = (c: ChargeSnapshot): boolean => c.status === "succeeded" && c.captured;

// A pending refund has already been taken off `charge.amount_refunded`; a failed or canceled one
// has been put back.
const COUNTED_REFUND_STATUSES: ReadonlySet<string | null> = new Set(["succeeded", "pending", "requires_action"]);

/**
 * Refunded amount of one charge. The charge's own `amount_refunded` is authoritative, but a refund
 * event can be newer than the last charge snapshot seen, so the larger of the two is used.
 * Clamped to what was captured.
 */
export const refundedAmount = (charge: ChargeSnapshot, refunds: readonly RefundFact[]): number => {
  let fromRefunds = 0;
  for (const r of refunds) {
    const refund = r.winner.data;
    if (COUNTED_REFUND_STATUSES.has(refund.status) && refund.currency === charge.currency) fromRefunds += refund.amount;
  }
  return Math.min(Math.max(charge.amountRefunded, fromRefunds, 0), charge.amountCaptured);
};

export const paymentMetrics = (
  charges: readonly ChargeFact[],
  refundsByCharge: (chargeId: string) => readonly RefundFact[],
  disputes: readonly DisputeFact[],
): PaymentMetrics => {
  const spent = new Map<string, number>();
  const counts = new Map<string, number>();
  const refunded = new Map<string, number>();
  let paymentCount = 0;
  let failedPaymentCount = 0;
  let lastPaymentAt: number | null = null;

  for (const fact of charges) {
    const c = fact.winner.data;
    if (c.status === "failed") failedPaymentCount++;
    if (!isSucceeded(c)) continue;
    paymentCount++;
    const refund = refundedAmount(c, refundsByCharge(c.id));
    addTo(spent, c.currency, c.amountCaptured - refund);
    addTo(counts, c.currency, 1);
    if (refund > 0) addTo(refunded, c.currency, refund);
    const at = paidAt(fact);
    lastPaymentAt = lastPaymentAt === null ? at : Math.max(lastPaymentAt, at);
  }

  for (const fact of disputes) {
    const d = fact.winner.data;
    // A lost dispute takes the disputed amount back (Stripe also withdraws the dispute fee,
    // which is the merchant's cost, not the customer's spending).
    if (d.status === "lost") addTo(spent, d.currency, -d.amount);
  }

  const aov = new Map<string, Ratio>();
  for (const [currency, count] of counts) aov.set(currency, ratio(spent.get(currency) ?? 0, count));

  return {
    paymentCount,
    totalSpent: moneyFromMap(spent),
    averageOrderValue: moneyFromRatios(aov),
    lastPaymentAt,
    failedPaymentCount,
    refundedTotal: moneyFromMap(refunded),
    disputeCount: disputes.length,
  };
};

// ---------------------------------------------------------------------------------------------
// Subscriptions

/** DOMAIN.md §2 precedence for the primary subscription; unknown statuses come last. */
export const SUBSCRIPTION_STATUS_PRECEDENCE: readonly string[] = [
  "active",
  "past_due",
  "trialing",
  "unpaid",
  "paused",
  "incomplete",
  "incomplete_expired",
  "canceled",
];

const precedence = (status: string): number => {
  const index = SUBSCRIPTION_STATUS_PRECEDENCE.indexOf(status);
  return index === -1 ? SUBSCRIPTION_STATUS_PRECEDENCE.length : index;
};

/** Statuses in which a customer has not churned. */
export const LIVE_STATUSES: ReadonlySet<string> = new Set(["active", "past_due", "trialing"]);

/**
 * The primary subscription: best status by precedence, then the most recently created, then —
 * so that the choice never depends on input order — the greater id.
 */
export const primarySubscription = (subscriptions: readonly SubscriptionFact[]): SubscriptionFact | null => {
  let best: SubscriptionFact | null = null;
  for (const fact of subscriptions) {
    if (best === null) {
      best = fact;
      continue;
    }
    const a = fact.winner.data;
    const b = best.winner.data;
    const byStatus = precedence(b.status) - precedence(a.status);
    const byCreated = (a.created ?? 0) - (b.created ?? 0);
    if (byStatus > 0 || (byStatus === 0 && (byCreated > 0 || (byCreated === 0 && compareStrings(a.id, b.id) > 0)))) {
      best = fact;
    }
  }
  return best;
};

export interface PlanCatalog {
  readonly product: (id: string) => ProductFact | undefined;
  readonly price: (id: string) => PriceFact | undefined;
}

/**
 * Plan name of a subscription's first item: the price nickname, else the product's name if a
 * product event was seen (or the product was expanded), else the price id. The price object's
 * own snapshot is used when it is at least as new as the subscription snapshot that embeds it,
 * because a nickname can change without any subscription event.
 */
export const planName = (subscription: SubscriptionFact, catalog: PlanCatalog): string | null => {
  const embedded = subscription.winner.data.items[0]?.price;
  if (!embedded) return null;
  const own = catalog.price(embedded.id);
  const price =
    own !== undefined && !own.winner.deleted && own.winner.at >= subscription.winner.at ? own.winner.data : embedded;
  if (price.nickname) return price.nickname;
  const productId = price.product ?? embedded.product;
  const productName = (productId === null ? undefined : catalog.product(productId))?.winner.data.name;
  return productName || price.productName || embedded.productName || price.id;
};

export interface SubscriptionMetrics {
  readonly subscriptionStatus: string | null;
  readonly planName: string | null;
  readonly subscriptionStartedAt: number | null;
  readonly trialEnd: number | null;
  readonly cancelAtPeriodEnd: boolean | null;
  readonly currentPeriodEnd: number | null;
  readonly churned: boolean;
}

export const subscriptionMetrics = (
  subscriptions: readonly SubscriptionFact[],
  catalog: PlanCatalog,
): SubscriptionMetrics => {
  const primary = primarySubscription(subscriptions);
  const churned = subscriptions.length > 0 && !subscriptions.some((s) => LIVE_STATUSES.has(s.winner.data.status));
  if (primary === null) {
    return {
      subscriptionStatus: null,
      planName: null,
      subscriptionStartedAt: null,
      trialEnd: null,
      cancelAtPeriodEnd: null,
      currentPeriodEnd: null,
      churned,
    };
  }
  const s = primary.winner.data;
  return {
    subscriptionStatus: s.status,
    planName: planName(primary, catalog),
    subscriptionStartedAt: s.startDate ?? s.created,
    trialEnd: s.trialEnd,
    cancelAtPeriodEnd: s.cancelAtPeriodEnd,
    currentPeriodEnd: s.currentPeriodEnd,
    churned,
  };
};
