import type { ClientBase } from "pg";
import { forgetSlotMarkers } from "../store/slots.ts";
import { sqlDigest } from "./digest.ts";

/**
 * Every projector table that can hold a customer's data, and the columns that name a customer or
 * one of its objects. Ids are type-prefixed Stripe ids (cus_, ch_, dp_…), so one set of ids can
 * be matched against every column without confusing kinds. A table added later that holds
 * customer data must be listed here (the erase test scans every table for the erased ids).
 */
const TARGETS: readonly { table: string; columns: readonly string[] }[] = [
  { table: "fact_customer", columns: ["id"] },
  { table: "fact_charge", columns: ["id", "customer_id"] },
  { table: "fact_refund", columns: ["id", "charge_id"] },
  { table: "fact_dispute", columns: ["id", "charge_id"] },
  { table: "fact_invoice", columns: ["id", "customer_id"] },
  { table: "fact_subscription", columns: ["id", "customer_id"] },
  { table: "fact_discount", columns: ["id", "(fact #>> '{winner,data,customer}')"] },
  { table: "customer_projection", columns: ["customer_id"] },
  { table: "customer_projection_tombstone", columns: ["customer_id"] },
  { table: "derive_failure", columns: ["customer_id"] },
  // The MRR history (migration 0006): snapshot sets, months, first-paid times.
  { table: "subscription_history", columns: ["subscription_id", "customer_id"] },
  { table: "mrr_month", columns: ["customer_id"] },
  { table: "mrr_history_customer", columns: ["customer_id"] },
];

export interface PurgeCount {
  readonly table: string;
  readonly rows: number;
}

/**
 * Deletes the rows naming any of `ids` from every generation (or one), by the indexed columns.
 * Run under each generation's advisory lock (lockGeneration) so no batch interleaves.
 */
export async function purgeIds(db: ClientBase, ids: readonly string[], generation?: number): Promise<PurgeCount[]> {
  if (ids.length === 0) return [];
  // Naming the generations lets every match use the (generation, …) indexes instead of a scan.
  const generations =
    generation === undefined
      ? (await db.query<{ g: number }>("SELECT generation AS g FROM projection_generation")).rows.map((r) => r.g)
      : [generation];
  const counts: PurgeCount[] = [];
  for (const { table, columns } of TARGETS) {
    const match = columns.map((c) => `${c} = ANY($1::text[])`).join(" OR ");
    const r = await db.query(`DELETE FROM ${table} WHERE generation = ANY($2::integer[]) AND (${match})`, [
      ids,
      generations,
    ]);
    counts.push({ table, rows: r.rowCount ?? 0 });
  }
  // No cache may keep what was purged (projection/fact-cache.ts).
  await forgetSlotMarkers(db, generations);
  return counts;
}

/**
 * The same by digest (the erasure list holds no ids): scans the generation's tables. Run inside
 * the switch transaction of a rebuild, so a generation never goes live with rows folded before an
 * erasure it did not know of yet. Costs a scan only when something was ever erased.
 */
export async function purgeDigests(
  db: ClientBase,
  digests: readonly string[],
  generation: number,
): Promise<PurgeCount[]> {
  if (digests.length === 0) return [];
  const counts: PurgeCount[] = [];
  for (const { table, columns } of TARGETS) {
    const match = columns.map((c) => `${sqlDigest(c)} = ANY($1::text[])`).join(" OR ");
    const r = await db.query(`DELETE FROM ${table} WHERE generation = $2 AND (${match})`, [digests, generation]);
    counts.push({ table, rows: r.rowCount ?? 0 });
  }
  await forgetSlotMarkers(db, [generation]);
  return counts;
}

/** Total rows a purge removed. */
export const purgedRows = (counts: readonly PurgeCount[]): number => counts.reduce((n, c) => n + c.rows, 0);
