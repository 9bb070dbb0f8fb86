import type { Money } from "./money.ts";
import type { Metadata } from "./snapshots.ts";

/**
 * The customer read model (DOMAIN.md §2). Times are unix seconds as Stripe sends them; money is
 * per currency in minor units. `toReadModelRow` gives the snake_case/ISO form used by the offline
 * fold output and the `customer_metrics` view.
 */
export interface CustomerReadModel {
  readonly customerId: string;
  // --- customer object (blanked once deleted: GDPR erasure must survive replays)
  readonly email: string | null;
  readonly name: string | null;
  readonly phone: string | null;
  readonly currency: string | null;
  readonly createdAt: number | null;
  readonly deleted: boolean;
  readonly metadata: Metadata;
  // --- payments
  readonly paymentCount: number;
  readonly totalSpent: Money;
  readonly averageOrderValue: Money;
  readonly lastPaymentAt: number | null;
  readonly failedPaymentCount: number;
  readonly refundedTotal: Money;
  readonly disputeCount: number;
  // --- subscriptions (primary subscription fields are null when there is none)
  readonly mrr: Money;
  readonly subscriptionStatus: string | null;
  readonly planName: string | null;
  readonly subscriptionStartedAt: number | null;
  readonly trialEnd: number | null;
  readonly cancelAtPeriodEnd: boolean | null;
  readonly currentPeriodEnd: number | null;
  readonly churned: boolean;
  // --- connector attributes (issue #20, connector-attributes.ts)
  readonly balance: Money;
  readonly country: string | null;
  readonly city: string | null;
  readonly delinquent: boolean | null;
  readonly planNames: readonly string[];
  readonly couponName: string | null;
  // --- bookkeeping
  readonly lastEventAt: number | null;
}

/** JSON row: snake_case, ISO-8601 UTC times, `null` for missing values, `{}` for no money. */
export interface ReadModelRow {
  readonly customer_id: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly phone: string | null;
  readonly currency: string | null;
  readonly created_at: string | null;
  readonly deleted: boolean;
  readonly metadata: Metadata;
  readonly payment_count: number;
  readonly total_spent: Money;
  readonly average_order_value: Money;
  readonly last_payment_at: string | null;
  readonly failed_payment_count: number;
  readonly refunded_total: Money;
  readonly dispute_count: number;
  readonly mrr: Money;
  readonly subscription_status: string | null;
  readonly plan_name: string | null;
  readonly subscription_started_at: string | null;
  readonly trial_end: string | null;
  readonly cancel_at_period_end: boolean | null;
  readonly current_period_end: string | null;
  readonly churned: boolean;
  readonly balance: Money;
  readonly country: string | null;
  readonly city: string | null;
  readonly delinquent: boolean | null;
  readonly plan_names: readonly string[];
  readonly coupon_name: string | null;
  readonly last_event_at: string | null;
}

export const isoTime = (unixSeconds: number | null): string | null =>
  unixSeconds === null ? null : new Date(unixSeconds * 1000).toISOString();

export const toReadModelRow = (m: CustomerReadModel): ReadModelRow => ({
  customer_id: m.customerId,
  email: m.email,
  name: m.name,
  phone: m.phone,
  currency: m.currency,
  created_at: isoTime(m.createdAt),
  deleted: m.deleted,
  metadata: m.metadata,
  payment_count: m.paymentCount,
  total_spent: m.totalSpent,
  average_order_value: m.averageOrderValue,
  last_payment_at: isoTime(m.lastPaymentAt),
  failed_payment_count: m.failedPaymentCount,
  refunded_total: m.refundedTotal,
  dispute_count: m.disputeCount,
  mrr: m.mrr,
  subscription_status: m.subscriptionStatus,
  plan_name: m.planName,
  subscription_started_at: isoTime(m.subscriptionStartedAt),
  trial_end: isoTime(m.trialEnd),
  cancel_at_period_end: m.cancelAtPeriodEnd,
  current_period_end: isoTime(m.currentPeriodEnd),
  churned: m.churned,
  balance: m.balance,
  country: m.country,
  city: m.city,
  delinquent: m.delinquent,
  plan_names: m.planNames,
  coupon_name: m.couponName,
  last_event_at: isoTime(m.lastEventAt),
});
