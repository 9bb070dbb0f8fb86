import { compareStrings } from "./canonical-json.ts";
import { DEFAULT_READ_MODEL_OPTIONS, type ReadModelOptions } from "./derive.ts";
import type { DecodedEvent } from "./events.ts";
import type { CustomerFact } from "./facts.ts";
import { catalogOf, type FoldState } from "./fold.ts";
import { firstPaidAt, type LastMovements, lastMovements, type MonthlyMrrRow, monthlyMrr } from "./movements.ts";
import type { MrrCatalog } from "./mrr.ts";
import { customerMrrHistory, type MrrPoint } from "./mrr-history.ts";
import { collectSubscriptionVersion, type HistoryState, type SubscriptionVersions } from "./subscription-history.ts";

/** One customer's inputs to its MRR history (what a store loads for it). */
export interface CustomerHistoryFacts {
  readonly customerId: string;
  readonly customer: CustomerFact | null;
  readonly subscriptions: readonly SubscriptionVersions[];
}

/** The customer's MRR change points; a deleted customer's discount no longer applies, as in `deriveCustomer`. */
export const historyOfCustomer = (
  facts: CustomerHistoryFacts,
  catalog: MrrCatalog,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
): MrrPoint[] => {
  const winner = facts.customer?.winner;
  const customer = winner === undefined || winner.deleted ? null : winner.data;
  return customerMrrHistory(facts.subscriptions, customer, options.mrr, catalog);
};

/**
 * Groups the snapshot sets by customer as `customerFactsOf` groups subscriptions: by the
 * customer the subscription's winning snapshot names.
 */
export const historyFactsOf = (state: FoldState, history: HistoryState): CustomerHistoryFacts[] => {
  const byCustomer = new Map<string, SubscriptionVersions[]>();
  for (const [id, versions] of history) {
    const owner = state.subscriptions.get(id)?.winner.data.customer ?? null;
    if (owner === null) continue;
    const list = byCustomer.get(owner);
    if (list) list.push(versions);
    else byCustomer.set(owner, [versions]);
  }
  return [...byCustomer.keys()].sort(compareStrings).map((customerId) => ({
    customerId,
    customer: state.customers.get(customerId) ?? null,
    subscriptions: byCustomer.get(customerId) ?? [],
  }));
};

/** Every customer's monthly rows (sorted by customer, month, currency) from an in-memory fold. */
export const monthlyRowsOf = (
  state: FoldState,
  history: HistoryState,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
  until?: number,
): MonthlyMrrRow[] => {
  const catalog = catalogOf(state);
  return historyFactsOf(state, history).flatMap((facts) =>
    monthlyMrr(facts.customerId, historyOfCustomer(facts, catalog, options), until),
  );
};

/** The snapshot sets of a whole event stream (the in-memory counterpart of the stored facts). */
export const collectHistory = (events: Iterable<DecodedEvent>, history: HistoryState = new Map()): HistoryState => {
  for (const event of events) collectSubscriptionVersion(history, event);
  return history;
};

export interface DerivedHistory {
  readonly rows: MonthlyMrrRow[];
  /** Unix seconds of the first instant with MRR > 0 (FIRST_PAID_AT), or null. */
  readonly firstPaidAt: number | null;
  readonly last: LastMovements;
}

/** What the projector stores for one customer: its monthly rows and when it first paid. */
export const deriveCustomerHistory = (
  facts: CustomerHistoryFacts,
  catalog: MrrCatalog,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
): DerivedHistory => {
  const points = historyOfCustomer(facts, catalog, options);
  const rows = monthlyMrr(facts.customerId, points);
  return { rows, firstPaidAt: firstPaidAt(points), last: lastMovements(rows) };
};
