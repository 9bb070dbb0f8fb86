import { connectorAttributes } from "./connector-attributes.ts";
import type {
  ChargeFact,
  CustomerFact,
  DisputeFact,
  Fact,
  InvoiceFact,
  RefundFact,
  SubscriptionFact,
} from "./facts.ts";
import { type PlanCatalog, paymentMetrics, subscriptionMetrics } from "./metrics.ts";
import { customerMrr, type DiscountCatalog, type MrrRules, STRIPE_MRR_RULES } from "./mrr.ts";
import type { CustomerReadModel } from "./read-model.ts";

/** Every fact that belongs to one customer. Order within the arrays does not matter. */
export interface CustomerFacts {
  readonly customerId: string;
  readonly customer: CustomerFact | null;
  readonly charges: readonly ChargeFact[];
  /** Refunds and disputes are linked through their charge; pass those of `charges`. */
  readonly refunds: readonly RefundFact[];
  readonly disputes: readonly DisputeFact[];
  readonly invoices: readonly InvoiceFact[];
  readonly subscriptions: readonly SubscriptionFact[];
}

/** Objects shared between customers (prices, products, coupons, discounts), looked up by id. */
export type Catalog = PlanCatalog & DiscountCatalog;

export interface ReadModelOptions {
  readonly mrr: MrrRules;
}

export const DEFAULT_READ_MODEL_OPTIONS: ReadModelOptions = { mrr: STRIPE_MRR_RULES };

const maxLastEventAt = (groups: readonly (readonly Fact<unknown>[])[]): number | null => {
  let last: number | null = null;
  for (const group of groups) {
    for (const fact of group) last = last === null ? fact.lastEventAt : Math.max(last, fact.lastEventAt);
  }
  return last;
};

/**
 * Derives the read model of one customer from its facts: a pure function, so any store of facts
 * (the in-memory fold, Postgres) gives the same row for the same facts.
 */
export const deriveCustomer = (
  facts: CustomerFacts,
  catalog: Catalog,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
): CustomerReadModel => {
  const customerFact = facts.customer;
  const deleted = customerFact?.winner.deleted ?? false;
  const customer = customerFact?.winner.data ?? null;
  const refundsByCharge = new Map<string, RefundFact[]>();
  for (const refund of facts.refunds) {
    const charge = refund.winner.data.charge;
    if (charge === null) continue;
    const list = refundsByCharge.get(charge);
    if (list) list.push(refund);
    else refundsByCharge.set(charge, [refund]);
  }
  const payments = paymentMetrics(facts.charges, (id) => refundsByCharge.get(id) ?? [], facts.disputes);
  const subscriptions = subscriptionMetrics(facts.subscriptions, catalog);
  const mrr = customerMrr(facts.subscriptions, deleted ? null : customer, options.mrr, catalog);
  return {
    customerId: facts.customerId,
    // Personal data is dropped once the customer is deleted, so no replay can bring it back.
    email: deleted ? null : (customer?.email ?? null),
    name: deleted ? null : (customer?.name ?? null),
    phone: deleted ? null : (customer?.phone ?? null),
    currency: customer?.currency ?? null,
    createdAt: customerFact?.createdAt ?? null,
    deleted,
    metadata: deleted ? {} : (customer?.metadata ?? {}),
    ...payments,
    mrr,
    ...subscriptions,
    ...connectorAttributes(deleted ? null : customer, deleted, facts.subscriptions, catalog),
    lastEventAt: maxLastEventAt([
      customerFact ? [customerFact] : [],
      facts.charges,
      facts.refunds,
      facts.disputes,
      facts.invoices,
      facts.subscriptions,
    ]),
  };
};
