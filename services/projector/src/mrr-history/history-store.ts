import type { ClientBase } from "pg";
import type { DerivedHistory } from "../domain/history-of.ts";
import type { MonthlyMrrRow } from "../domain/movements.ts";
import type { SubscriptionVersions } from "../domain/subscription-history.ts";

/**
 * The MRR history tables of migration 0006 (subscription_history, mrr_month,
 * mrr_history_customer). Every call is one round trip; rows travel as one JSON parameter.
 */

export interface StoredHistory {
  readonly subscriptionId: string;
  readonly customerId: string | null;
  readonly versions: SubscriptionVersions;
}

async function loadHistories(
  db: ClientBase,
  generation: number,
  column: "subscription_id" | "customer_id",
  ids: readonly string[],
): Promise<StoredHistory[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{
    subscription_id: string;
    customer_id: string | null;
    versions: SubscriptionVersions;
  }>(
    `SELECT subscription_id, customer_id, versions FROM subscription_history WHERE generation = $1 AND ${column} = ANY($2::text[])`,
    [generation, ids],
  );
  return rows.map((r) => ({ subscriptionId: r.subscription_id, customerId: r.customer_id, versions: r.versions }));
}

export const loadHistoriesById = (db: ClientBase, generation: number, subscriptionIds: readonly string[]) =>
  loadHistories(db, generation, "subscription_id", subscriptionIds);

export const loadHistoriesOfCustomers = (db: ClientBase, generation: number, customerIds: readonly string[]) =>
  loadHistories(db, generation, "customer_id", customerIds);

export async function writeHistories(db: ClientBase, generation: number, histories: readonly StoredHistory[]) {
  if (histories.length === 0) return;
  await db.query(
    `INSERT INTO subscription_history (generation, subscription_id, customer_id, versions)
     SELECT $1, x.subscription_id, x.customer_id, x.versions
     FROM jsonb_to_recordset($2::jsonb) AS x(subscription_id text, customer_id text, versions jsonb)
     ON CONFLICT (generation, subscription_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, versions = EXCLUDED.versions`,
    [
      generation,
      JSON.stringify(
        histories.map((h) => ({ subscription_id: h.subscriptionId, customer_id: h.customerId, versions: h.versions })),
      ),
    ],
  );
}

/** Customers whose history looked up one of `refs` (`kind:id`). */
export async function historiesReferencing(db: ClientBase, generation: number, refs: readonly string[]) {
  if (refs.length === 0) return [];
  const { rows } = await db.query<{ customer_id: string }>(
    "SELECT customer_id FROM mrr_history_customer WHERE catalog_refs && $2::text[] AND generation = $1",
    [generation, refs],
  );
  return rows.map((r) => r.customer_id);
}

export async function loadMonths(db: ClientBase, generation: number, customerIds: readonly string[]) {
  if (customerIds.length === 0) return [];
  const { rows } = await db.query<MonthlyMrrRow>(
    `SELECT customer_id, currency, to_char(month, 'YYYY-MM-DD') AS month, mrr::float8 AS mrr,
       previous_mrr::float8 AS previous_mrr, movement, (mrr - previous_mrr)::float8 AS change, subscriptions
     FROM mrr_month WHERE generation = $1 AND customer_id = ANY($2::text[])`,
    [generation, customerIds],
  );
  return rows;
}

export interface MonthKey {
  readonly customer_id: string;
  readonly currency: string;
  readonly month: string;
}

export async function deleteMonths(db: ClientBase, generation: number, keys: readonly MonthKey[]) {
  if (keys.length === 0) return;
  await db.query(
    `DELETE FROM mrr_month m USING jsonb_to_recordset($2::jsonb) AS x(customer_id text, currency text, month date)
     WHERE m.generation = $1 AND m.customer_id = x.customer_id AND m.currency = x.currency AND m.month = x.month`,
    [generation, JSON.stringify(keys)],
  );
}

export async function writeMonths(db: ClientBase, generation: number, rows: readonly MonthlyMrrRow[]) {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO mrr_month (generation, customer_id, currency, month, mrr, previous_mrr, movement, subscriptions)
     SELECT $1, x.customer_id, x.currency, x.month, x.mrr, x.previous_mrr, x.movement, x.subscriptions
     FROM jsonb_to_recordset($2::jsonb)
       AS x(customer_id text, currency text, month date, mrr bigint, previous_mrr bigint, movement text, subscriptions integer)
     ON CONFLICT (generation, customer_id, currency, month) DO UPDATE SET mrr = EXCLUDED.mrr,
       previous_mrr = EXCLUDED.previous_mrr, movement = EXCLUDED.movement, subscriptions = EXCLUDED.subscriptions`,
    [generation, JSON.stringify(rows)],
  );
}

export interface HistoryCustomerRow {
  readonly customer_id: string;
  /** Unix seconds. */
  readonly first_paid_at: number | null;
  readonly last_movement: Readonly<Record<string, string>>;
  readonly last_change: Readonly<Record<string, number>>;
  readonly catalog_refs: readonly string[];
}

export const historyCustomerRow = (
  customerId: string,
  d: DerivedHistory,
  catalogRefs: readonly string[],
): HistoryCustomerRow => ({
  customer_id: customerId,
  first_paid_at: d.firstPaidAt,
  last_movement: d.last.movement,
  last_change: d.last.change,
  catalog_refs: catalogRefs,
});

/** Upsert of customer rows from $2 (HistoryCustomerRow[] as JSON) into generation $1. */
const UPSERT_HISTORY_CUSTOMERS = `INSERT INTO mrr_history_customer (generation, customer_id, first_paid_at, last_movement, last_change, catalog_refs)
     SELECT $1, x.customer_id, to_timestamp(x.first_paid_at), x.last_movement, x.last_change, x.catalog_refs
     FROM jsonb_to_recordset($2::jsonb)
       AS x(customer_id text, first_paid_at double precision, last_movement jsonb, last_change jsonb, catalog_refs text[])
     ON CONFLICT (generation, customer_id) DO UPDATE SET first_paid_at = EXCLUDED.first_paid_at,
       last_movement = EXCLUDED.last_movement, last_change = EXCLUDED.last_change, catalog_refs = EXCLUDED.catalog_refs`;

export async function writeHistoryCustomers(db: ClientBase, generation: number, rows: readonly HistoryCustomerRow[]) {
  if (rows.length === 0) return;
  await db.query(UPSERT_HISTORY_CUSTOMERS, [generation, JSON.stringify(rows)]);
}

/**
 * The live path's write of customer rows: upserts `rows`, deletes the customers in `gone`, and
 * returns the customers whose summary (what the sink reads in customer_mrr_summary: first paid,
 * last movement, last change) differs from before, in one statement (the CTE `old` sees the rows
 * as they were before it).
 */
export async function replaceHistoryCustomers(
  db: ClientBase,
  generation: number,
  rows: readonly HistoryCustomerRow[],
  gone: readonly string[],
): Promise<string[]> {
  if (rows.length === 0 && gone.length === 0) return [];
  const { rows: changed } = await db.query<{ customer_id: string }>(
    `WITH old AS (
       SELECT customer_id, extract(epoch FROM first_paid_at)::bigint AS first_paid, last_movement, last_change
       FROM mrr_history_customer WHERE generation = $1 AND customer_id = ANY($3::text[])
     ), up AS (
       ${UPSERT_HISTORY_CUSTOMERS}
       RETURNING customer_id, extract(epoch FROM first_paid_at)::bigint AS first_paid, last_movement, last_change
     ), removed AS (
       DELETE FROM mrr_history_customer WHERE generation = $1 AND customer_id = ANY($4::text[]) RETURNING customer_id
     )
     SELECT up.customer_id FROM up LEFT JOIN old USING (customer_id)
     WHERE old.customer_id IS NULL
        OR (old.first_paid, old.last_movement, old.last_change) IS DISTINCT FROM (up.first_paid, up.last_movement, up.last_change)
     UNION SELECT customer_id FROM removed`,
    [generation, JSON.stringify(rows), rows.map((r) => r.customer_id), gone],
  );
  return changed.map((r) => r.customer_id);
}

/**
 * Moves the change_xid of customers whose summary changed while their row may not have: the
 * sink's change feed (customer_changes) then reads them again. Rows this transaction already
 * changed keep theirs (same value).
 */
export async function touchChanged(db: ClientBase, generation: number, customerIds: readonly string[]) {
  if (customerIds.length === 0) return;
  await db.query(
    `UPDATE customer_projection SET change_xid = pg_current_xact_id()
     WHERE generation = $1 AND customer_id = ANY($2::text[]) AND change_xid <> pg_current_xact_id()`,
    [generation, customerIds],
  );
}
