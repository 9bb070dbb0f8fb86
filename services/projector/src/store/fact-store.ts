import type { ClientBase } from "pg";
import { type FactKind, factTable } from "./tables.ts";

/**
 * Fact tables: loads by id, by owning customer and by charge, and multi-row upserts. Every call
 * is one round trip whatever the number of ids or kinds (UNION ALL / data-modifying CTEs), so a
 * batch costs a handful of queries, never one per event.
 */

export interface LoadedFact {
  readonly kind: FactKind;
  readonly id: string;
  readonly fact: unknown;
}

type Selection = { readonly kind: FactKind; readonly column: string; readonly values: readonly string[] };

async function select(db: ClientBase, generation: number, selections: readonly Selection[]): Promise<LoadedFact[]> {
  const parts: string[] = [];
  const params: unknown[] = [generation];
  for (const s of selections) {
    if (s.values.length === 0) continue;
    params.push(s.values);
    parts.push(
      `SELECT '${s.kind}' AS kind, id, fact FROM ${factTable(s.kind)} WHERE generation = $1 AND ${s.column} = ANY($${params.length}::text[])`,
    );
  }
  if (parts.length === 0) return [];
  const { rows } = await db.query<LoadedFact>(parts.join("\nUNION ALL\n"), params);
  return rows;
}

/** Facts by object id, for several kinds at once. */
export function loadFactsById(
  db: ClientBase,
  generation: number,
  ids: ReadonlyMap<FactKind, ReadonlySet<string>>,
): Promise<LoadedFact[]> {
  return select(
    db,
    generation,
    [...ids].map(([kind, set]) => ({ kind, column: "id", values: [...set] })),
  );
}

/** Every fact naming one of `customerIds`: the customer objects, their charges, invoices and subscriptions. */
export function loadFactsOfCustomers(db: ClientBase, generation: number, customerIds: readonly string[]) {
  return select(db, generation, [
    { kind: "customer", column: "id", values: customerIds },
    { kind: "charge", column: "customer_id", values: customerIds },
    { kind: "invoice", column: "customer_id", values: customerIds },
    { kind: "subscription", column: "customer_id", values: customerIds },
  ]);
}

/** Refunds and disputes reach their customer through their charge. */
export function loadFactsOfCharges(db: ClientBase, generation: number, chargeIds: readonly string[]) {
  return select(db, generation, [
    { kind: "refund", column: "charge_id", values: chargeIds },
    { kind: "dispute", column: "charge_id", values: chargeIds },
  ]);
}

export interface FactWrite {
  readonly id: string;
  readonly fact: unknown;
}

/**
 * Upserts facts of several kinds in one statement. Each kind's rows travel as one JSON array
 * parameter, unpacked by jsonb_to_recordset: Postgres parses it once, the driver escapes nothing.
 */
export async function writeFacts(
  db: ClientBase,
  generation: number,
  writes: ReadonlyMap<FactKind, readonly FactWrite[]>,
): Promise<void> {
  const ctes: string[] = [];
  const params: unknown[] = [generation];
  for (const [kind, rows] of writes) {
    if (rows.length === 0) continue;
    params.push(JSON.stringify(rows));
    ctes.push(
      `w_${kind} AS (INSERT INTO ${factTable(kind)} (generation, id, fact)
        SELECT $1, x.id, x.fact FROM jsonb_to_recordset($${params.length}::jsonb) AS x(id text, fact jsonb)
        ON CONFLICT (generation, id) DO UPDATE SET fact = EXCLUDED.fact)`,
    );
  }
  if (ctes.length === 0) return;
  await db.query(`WITH ${ctes.join(",\n")} SELECT 1`, params);
}
