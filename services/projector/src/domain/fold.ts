import { compareStrings } from "./canonical-json.ts";
import {
  type Catalog,
  type CustomerFacts,
  DEFAULT_READ_MODEL_OPTIONS,
  deriveCustomer,
  type ReadModelOptions,
} from "./derive.ts";
import type { DecodedEvent } from "./events.ts";
import {
  type ChargeFact,
  type CouponFact,
  type CustomerFact,
  type DiscountFact,
  type DisputeFact,
  evolveCharge,
  evolveCoupon,
  evolveCustomer,
  evolveDiscount,
  evolveDispute,
  evolveInvoice,
  evolvePrice,
  evolveProduct,
  evolveRefund,
  evolveSubscription,
  type InvoiceFact,
  type PriceFact,
  type ProductFact,
  type RefundFact,
  type SubscriptionFact,
  type Version,
} from "./facts.ts";
import type { CustomerReadModel } from "./read-model.ts";

/** All facts, keyed by Stripe object id. */
export interface FoldState {
  readonly customers: ReadonlyMap<string, CustomerFact>;
  readonly charges: ReadonlyMap<string, ChargeFact>;
  readonly refunds: ReadonlyMap<string, RefundFact>;
  readonly disputes: ReadonlyMap<string, DisputeFact>;
  readonly invoices: ReadonlyMap<string, InvoiceFact>;
  readonly subscriptions: ReadonlyMap<string, SubscriptionFact>;
  readonly products: ReadonlyMap<string, ProductFact>;
  readonly prices: ReadonlyMap<string, PriceFact>;
  readonly coupons: ReadonlyMap<string, CouponFact>;
  readonly discounts: ReadonlyMap<string, DiscountFact>;
}

type Mutable<S> = { -readonly [K in keyof S]: S[K] extends ReadonlyMap<infer K2, infer V> ? Map<K2, V> : never };
type MutableState = Mutable<FoldState>;

export const emptyState = (): FoldState => ({
  customers: new Map(),
  charges: new Map(),
  refunds: new Map(),
  disputes: new Map(),
  invoices: new Map(),
  subscriptions: new Map(),
  products: new Map(),
  prices: new Map(),
  coupons: new Map(),
  discounts: new Map(),
});

const copyState = (s: FoldState): MutableState => ({
  customers: new Map(s.customers),
  charges: new Map(s.charges),
  refunds: new Map(s.refunds),
  disputes: new Map(s.disputes),
  invoices: new Map(s.invoices),
  subscriptions: new Map(s.subscriptions),
  products: new Map(s.products),
  prices: new Map(s.prices),
  coupons: new Map(s.coupons),
  discounts: new Map(s.discounts),
});

/** The Version an event's snapshot becomes (also the MRR history's, subscription-history.ts). */
export const versionOf = <T>(event: DecodedEvent & { outcome: "snapshot" }, data: T): Version<T> => ({
  at: event.meta.created,
  eventId: event.meta.id,
  eventType: event.meta.type,
  backfill: event.meta.backfill,
  deleted: event.deleted,
  data,
});

const upsert = <F, T>(
  map: Map<string, F>,
  id: string,
  version: Version<T>,
  evolve: (fact: F | undefined, v: Version<T>) => F,
): void => {
  map.set(id, evolve(map.get(id), version));
};

/** Applies one event in place. Private: the exported functions never mutate a caller's state. */
const applyInPlace = (state: MutableState, event: DecodedEvent): void => {
  if (event.outcome === "ignored") return;
  const snapshot = event.snapshot;
  switch (snapshot.kind) {
    case "customer":
      upsert(state.customers, snapshot.data.id, versionOf(event, snapshot.data), evolveCustomer);
      return;
    case "charge":
      upsert(state.charges, snapshot.data.id, versionOf(event, snapshot.data), evolveCharge);
      return;
    case "refund":
      upsert(state.refunds, snapshot.data.id, versionOf(event, snapshot.data), evolveRefund);
      return;
    case "dispute":
      upsert(state.disputes, snapshot.data.id, versionOf(event, snapshot.data), evolveDispute);
      return;
    case "invoice":
      upsert(state.invoices, snapshot.data.id, versionOf(event, snapshot.data), evolveInvoice);
      return;
    case "subscription":
      upsert(state.subscriptions, snapshot.data.id, versionOf(event, snapshot.data), evolveSubscription);
      return;
    case "product":
      upsert(state.products, snapshot.data.id, versionOf(event, snapshot.data), evolveProduct);
      return;
    case "price":
      upsert(state.prices, snapshot.data.id, versionOf(event, snapshot.data), evolvePrice);
      return;
    case "coupon":
      upsert(state.coupons, snapshot.data.id, versionOf(event, snapshot.data), evolveCoupon);
      return;
    case "discount":
      upsert(state.discounts, snapshot.data.id, versionOf(event, snapshot.data), evolveDiscount);
      return;
    default: {
      const unreachable: never = snapshot;
      throw new Error(`unhandled snapshot kind ${JSON.stringify(unreachable)}`);
    }
  }
};

/**
 * Pure single-step fold: returns the next state and leaves `state` untouched. It copies the
 * state's maps, so for many events use `foldMany`/`foldAll`, which copy once.
 */
export const fold = (state: FoldState, event: DecodedEvent): FoldState => foldMany(state, [event]);

/** Folds a batch of events onto `state` without mutating it (one copy per batch). */
export const foldMany = (state: FoldState, events: Iterable<DecodedEvent>): FoldState => {
  const next = copyState(state);
  for (const event of events) applyInPlace(next, event);
  return next;
};

export const foldAll = (events: Iterable<DecodedEvent>): FoldState => foldMany(emptyState(), events);

/** `foldMany` for a stream whose events are not all at hand (a file read line by line). */
export const foldAsync = async (
  events: AsyncIterable<DecodedEvent>,
  state: FoldState = emptyState(),
): Promise<FoldState> => {
  const next = copyState(state);
  for await (const event of events) applyInPlace(next, event);
  return next;
};

// ---------------------------------------------------------------------------------------------
// Read models

const push = <V>(index: Map<string, V[]>, key: string | null, value: V): void => {
  if (key === null) return;
  const list = index.get(key);
  if (list) list.push(value);
  else index.set(key, [value]);
};

export const catalogOf = (state: FoldState): Catalog => ({
  product: (id) => state.products.get(id),
  price: (id) => state.prices.get(id),
  coupon: (id) => state.coupons.get(id),
  discount: (id) => state.discounts.get(id),
});

/**
 * Groups the facts by customer. A customer is known from its own object or from any charge,
 * subscription or invoice naming it; refunds and disputes reach it through their charge.
 */
export const customerFactsOf = (state: FoldState): CustomerFacts[] => {
  const refundsByCharge = new Map<string, RefundFact[]>();
  for (const fact of state.refunds.values()) push(refundsByCharge, fact.winner.data.charge, fact);
  const disputesByCharge = new Map<string, DisputeFact[]>();
  for (const fact of state.disputes.values()) push(disputesByCharge, fact.winner.data.charge, fact);
  const charges = new Map<string, ChargeFact[]>();
  for (const fact of state.charges.values()) push(charges, fact.winner.data.customer, fact);
  const subscriptions = new Map<string, SubscriptionFact[]>();
  for (const fact of state.subscriptions.values()) push(subscriptions, fact.winner.data.customer, fact);
  const invoices = new Map<string, InvoiceFact[]>();
  for (const fact of state.invoices.values()) push(invoices, fact.winner.data.customer, fact);

  const ids = new Set<string>([
    ...state.customers.keys(),
    ...charges.keys(),
    ...subscriptions.keys(),
    ...invoices.keys(),
  ]);
  return [...ids].sort(compareStrings).map((customerId) => {
    const own = charges.get(customerId) ?? [];
    return {
      customerId,
      customer: state.customers.get(customerId) ?? null,
      charges: own,
      refunds: own.flatMap((c) => refundsByCharge.get(c.winner.data.id) ?? []),
      disputes: own.flatMap((c) => disputesByCharge.get(c.winner.data.id) ?? []),
      invoices: invoices.get(customerId) ?? [],
      subscriptions: subscriptions.get(customerId) ?? [],
    };
  });
};

/** Every customer's read model, sorted by customer id. */
export const readModels = (
  state: FoldState,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
): CustomerReadModel[] => {
  const catalog = catalogOf(state);
  return customerFactsOf(state).map((facts) => deriveCustomer(facts, catalog, options));
};
