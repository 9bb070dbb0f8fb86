import type { CustomerReadModel } from "../domain/read-model.ts";

/** A read-model row with everything empty, overridable field by field. */
export function customer(id: string, overrides: Partial<CustomerReadModel> = {}): CustomerReadModel {
  return {
    customerId: id,
    email: `${id}@example.com`,
    name: null,
    phone: null,
    currency: null,
    createdAt: 1_700_000_000,
    deleted: false,
    metadata: {},
    paymentCount: 0,
    totalSpent: {},
    averageOrderValue: {},
    lastPaymentAt: null,
    failedPaymentCount: 0,
    refundedTotal: {},
    disputeCount: 0,
    mrr: {},
    subscriptionStatus: null,
    planName: null,
    subscriptionStartedAt: null,
    trialEnd: null,
    cancelAtPeriodEnd: null,
    currentPeriodEnd: null,
    churned: false,
    balance: {},
    country: null,
    city: null,
    delinquent: null,
    planNames: [],
    couponName: null,
    lastEventAt: null,
    ...overrides,
  };
}

/** A reproducible population: spenders in several currencies, subscribers, churned, no-email customers. */
export function population(n: number, seed = 1): CustomerReadModel[] {
  const currencies = ["usd", "eur", "jpy", "kwd"];
  const statuses = [null, "active", "trialing", "past_due", "canceled"];
  return Array.from({ length: n }, (_, i) => {
    const k = (i * 7919 + seed * 104729) % 1000;
    const currency = currencies[k % currencies.length] ?? "usd";
    const status = statuses[k % statuses.length] ?? null;
    const paid = k % 3 === 0 ? 0 : (k % 17) + 1;
    return customer(`cus_${seed}_${i}`, {
      email: k % 50 === 7 ? null : `c${seed}.${i}@example.com`,
      name: k % 4 === 0 ? null : `Ada${i} Lovelace`,
      currency,
      paymentCount: paid,
      totalSpent: paid === 0 ? {} : { [currency]: paid * 1250 + k },
      averageOrderValue: paid === 0 ? {} : { [currency]: Math.round((paid * 1250 + k) / paid) },
      lastPaymentAt: paid === 0 ? null : 1_700_000_000 + k * 3600,
      subscriptionStatus: status,
      planName: status === null ? null : `Plan ${k % 3}`,
      mrr: status === "active" || status === "past_due" ? { [currency]: 1000 + k } : {},
      subscriptionStartedAt: status === null ? null : 1_690_000_000 + k * 60,
      churned: status === "canceled",
      metadata: k % 5 === 0 ? { customer_tier: "gold" } : {},
    });
  });
}
