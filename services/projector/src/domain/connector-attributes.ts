import { compareStrings } from "./canonical-json.ts";
import type { SubscriptionFact } from "./facts.ts";
import { LIVE_STATUSES, type PlanCatalog, planName } from "./metrics.ts";
import type { Money } from "./money.ts";
import { type DiscountCatalog, resolveCoupon, resolveDiscount } from "./mrr.ts";
import type { CustomerSnapshot } from "./snapshots.ts";

/**
 * Customer attributes the Stripe connectors map (issue #20), derived from the winning customer
 * snapshot and the customer's subscriptions: pure functions of the facts, so they are as
 * order-insensitive as the facts' joins.
 */
export interface ConnectorAttributes {
  /** `balance` per currency, minor units (negative: account credit); `{}` when zero or unknown. */
  readonly balance: Money;
  readonly country: string | null;
  readonly city: string | null;
  readonly delinquent: boolean | null;
  /** Plan names of the live (active, past_due, trialing) subscriptions, unique, sorted. */
  readonly planNames: readonly string[];
  /**
   * Name of the coupon applied: the customer-level discount's, else the alphabetically first
   * among the live subscriptions' discounts (a coupon without name counts by its id).
   */
  readonly couponName: string | null;
}

const couponLabel = (c: { readonly id: string; readonly name?: string }): string => c.name ?? c.id;

export const connectorAttributes = (
  customer: CustomerSnapshot | null,
  deleted: boolean,
  subscriptions: readonly SubscriptionFact[],
  catalog: PlanCatalog & DiscountCatalog,
): ConnectorAttributes => {
  const live = subscriptions.filter((s) => LIVE_STATUSES.has(s.winner.data.status));
  const names = new Set<string>();
  for (const s of live) {
    const name = planName(s, catalog);
    if (name !== null) names.add(name);
  }
  const own = customer?.discount ? resolveCoupon(customer.discount, catalog) : null;
  const fromSubscriptions: string[] = [];
  for (const s of live) {
    for (const entry of s.winner.data.discounts) {
      const discount = resolveDiscount(entry, catalog);
      const coupon = discount === null ? null : resolveCoupon(discount, catalog);
      if (coupon !== null) fromSubscriptions.push(couponLabel(coupon));
    }
  }
  const balance = customer?.balance;
  const currency = customer?.currency ?? null;
  return {
    balance: balance === undefined || balance === 0 || currency === null ? {} : { [currency]: balance },
    // Address is personal data: blank once the customer is deleted, as email and name are.
    country: deleted ? null : (customer?.country ?? null),
    city: deleted ? null : (customer?.city ?? null),
    delinquent: customer?.delinquent ?? null,
    planNames: [...names].sort(compareStrings),
    couponName: own !== null ? couponLabel(own) : (fromSubscriptions.sort(compareStrings)[0] ?? null),
  };
};
