import type { Pool } from "pg";
import { collectHistory, monthlyRowsOf } from "../domain/history-of.ts";
import { foldAll, type ReadModelRow, readModels, toReadModelRow } from "../domain/index.ts";
import { type MonthlyMrrRow, monthIndexOf } from "../domain/movements.ts";
import { decodeAll, type RawEvent } from "../domain/stripe-test-events.ts";

const TIME_COLUMNS = [
  "created_at",
  "last_payment_at",
  "subscription_started_at",
  "trial_end",
  "current_period_end",
  "last_event_at",
] as const;

/** The `customer_metrics` view as the offline fold prints it (ISO times), without `updated_at`. */
export async function viewRows(pool: Pick<Pool, "query">): Promise<ReadModelRow[]> {
  const { rows } = await pool.query<Record<string, unknown>>("SELECT * FROM customer_metrics ORDER BY customer_id");
  return rows.map((row) => {
    const { updated_at: _updated, ...rest } = row;
    for (const c of TIME_COLUMNS) {
      const value = rest[c];
      rest[c] = value instanceof Date ? value.toISOString() : null;
    }
    return rest as unknown as ReadModelRow;
  });
}

/** Oracle B's other side: the pure fold of every event, in memory. */
export const foldedRows = (events: readonly RawEvent[]): ReadModelRow[] =>
  readModels(foldAll(decodeAll(events))).map(toReadModelRow);

/** `mrr_monthly` in the offline fold's form (carried_forward dropped: the fold does not mark it). */
export async function viewMonthlyRows(pool: Pick<Pool, "query">): Promise<MonthlyMrrRow[]> {
  const { rows } = await pool.query<MonthlyMrrRow>(
    `SELECT customer_id, currency, to_char(month, 'YYYY-MM-DD') AS month, mrr::float8 AS mrr,
       previous_mrr::float8 AS previous_mrr, movement, change::float8 AS change, subscriptions
     FROM mrr_monthly ORDER BY customer_id, month, currency`,
  );
  return rows;
}

/** The MRR history's other side: the offline fold's monthly rows up to `nowSeconds`'s month. */
export const offlineMonthlyRows = (events: readonly RawEvent[], nowSeconds: number): MonthlyMrrRow[] => {
  const decoded = decodeAll(events);
  return monthlyRowsOf(foldAll(decoded), collectHistory(decoded), undefined, monthIndexOf(nowSeconds));
};

/** Records accounted for in Postgres (oracle E): applied + dead-lettered, per generation. */
export async function accounted(pool: Pick<Pool, "query">, generation: number, topic: string) {
  const { rows } = await pool.query<{ applied: string; dead: string; next: string }>(
    `SELECT COALESCE(sum(applied_count), 0) AS applied, COALESCE(sum(dead_lettered_count), 0) AS dead,
            COALESCE(sum(next_offset), 0) AS next
     FROM processed_offset WHERE generation = $1 AND topic = $2`,
    [generation, topic],
  );
  const row = rows[0];
  return { applied: Number(row?.applied ?? 0), deadLettered: Number(row?.dead ?? 0), next: Number(row?.next ?? 0) };
}
