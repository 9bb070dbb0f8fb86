import type { ClientBase } from "pg";
import { deriveCustomerHistory, historyFactsOf } from "../domain/history-of.ts";
import { catalogOf, type FoldState, type ReadModelOptions } from "../domain/index.ts";
import type { MonthlyMrrRow } from "../domain/movements.ts";
import type { HistoryState } from "../domain/subscription-history.ts";
import { recordingCatalogOver } from "../projection/recording-catalog.ts";
import {
  type HistoryCustomerRow,
  historyCustomerRow,
  type StoredHistory,
  writeHistories,
  writeHistoryCustomers,
  writeMonths,
} from "./history-store.ts";

/**
 * The rebuild's fast path for the MRR history: derives every customer's months from the in-memory
 * fold and its snapshot sets, and bulk-loads the three tables inside the rebuild's transaction.
 * Gives the same rows as the live path (`applyMrrHistory`) batch after batch.
 */

const CHUNK = 4000;

export interface HistoryOutcome {
  readonly subscriptions: number;
  readonly customers: number;
  readonly months: number;
}

/** Pure part: the rows to load (kept apart so it can run before the transaction opens). */
export function deriveAllHistories(state: FoldState, history: HistoryState, options: ReadModelOptions) {
  const recording = recordingCatalogOver(catalogOf(state));
  const months: MonthlyMrrRow[] = [];
  const customers: HistoryCustomerRow[] = [];
  for (const facts of historyFactsOf(state, history)) {
    recording.reset();
    const d = deriveCustomerHistory(facts, recording.catalog, options);
    for (const row of d.rows) months.push(row);
    customers.push(historyCustomerRow(facts.customerId, d, [...recording.refs].sort()));
  }
  const histories: StoredHistory[] = [];
  for (const [subscriptionId, versions] of history)
    histories.push({
      subscriptionId,
      customerId: state.subscriptions.get(subscriptionId)?.winner.data.customer ?? null,
      versions,
    });
  return { histories, months, customers };
}

export async function writeAllHistories(
  client: ClientBase,
  generation: number,
  derived: ReturnType<typeof deriveAllHistories>,
): Promise<HistoryOutcome> {
  const { histories, months, customers } = derived;
  for (let i = 0; i < histories.length; i += CHUNK)
    await writeHistories(client, generation, histories.slice(i, i + CHUNK));
  for (let i = 0; i < months.length; i += CHUNK) await writeMonths(client, generation, months.slice(i, i + CHUNK));
  for (let i = 0; i < customers.length; i += CHUNK)
    await writeHistoryCustomers(client, generation, customers.slice(i, i + CHUNK));
  return { subscriptions: histories.length, customers: customers.length, months: months.length };
}
