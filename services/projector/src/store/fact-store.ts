import type { ClientBase } from "pg";
import { FACT_KINDS, type FactKind, factTable } from "./tables.ts";

/**
 * Fact tables: loads by id, by owning customer and by charge, and multi-row upserts. Every call
 * is one round trip whatever the number of ids or kinds (UNION ALL / data-modifying CTEs), so a
 * batch costs a handful of queries, never one per event.
 */

export interface LoadedFact {
  readonly kind: FactKind;
  readonly id: string;
  readonly fact: unknown;
  /** Moved by every write: a write names the version it folded onto (FactWrite.expected). */
  readonly version: number;
}

type Selection = { readonly kind: FactKind; readonly column: string; readonly values: readonly string[] };

async function select(db: ClientBase, generation: number, selections: readonly Selection[]): Promise<LoadedFact[]> {
  const parts: string[] = [];
  const params: unknown[] = [generation];
  for (const s of selections) {
    if (s.values.length === 0) continue;
    params.push(s.values);
    parts.push(
      `SELECT '${s.kind}' AS kind, id, fact, version::float8 AS version FROM ${factTable(s.kind)} WHERE generation = $1 AND ${s.column} = ANY($${params.length}::text[])`,
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
  /**
   * The version this fact was folded onto (0: it did not exist). The write is refused when the
   * stored row has another one: a concurrent batch of another partition wrote it meanwhile.
   * Absent: written whatever is stored (a rebuild's own generation).
   */
  readonly expected?: number;
}

/** Another transaction wrote a fact this batch folded onto: transient, the batch is retried. */
export class ConcurrentFactWrite extends Error {
  override readonly name = "ConcurrentFactWrite";
  readonly code = "concurrent_fact_write";
  constructor(readonly refused: number) {
    super(`${refused} fact(s) were written by another transaction since this batch read them`);
  }
}

/**
 * Upserts facts of several kinds in one statement. Each kind's rows travel as one JSON array
 * parameter, unpacked by jsonb_to_recordset: Postgres parses it once, the driver escapes nothing.
 * A row with an `expected` version is inserted with version expected + 1, or updated only where
 * the stored version is still `expected` (an INSERT ... ON CONFLICT waits for a concurrent writer
 * of the same row to commit, then sees its version).
 */
export async function writeFacts(
  db: ClientBase,
  generation: number,
  writes: ReadonlyMap<FactKind, readonly FactWrite[]>,
): Promise<void> {
  const ctes: string[] = [];
  const params: unknown[] = [generation];
  let checked = 0;
  // One global order of row locks, (kind, id), whatever order the batch touched them in: two
  // partitions writing the same refunds or disputes (an object keyed apart from its charge comes
  // from both) in opposite orders deadlocked (40P01, seen in the bench with one instance).
  const kinds = [...writes.keys()].sort((a, b) => FACT_KINDS.indexOf(a) - FACT_KINDS.indexOf(b));
  for (const kind of kinds) {
    const rows = [...(writes.get(kind) ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const guarded = rows.filter((r) => r.expected !== undefined);
    const free = rows.filter((r) => r.expected === undefined);
    const table = factTable(kind);
    if (guarded.length > 0) {
      checked += guarded.length;
      params.push(JSON.stringify(guarded));
      ctes.push(
        `g_${kind} AS (INSERT INTO ${table} (generation, id, fact, version)
          SELECT $1, x.id, x.fact, x.expected + 1
          FROM ROWS FROM (jsonb_to_recordset($${params.length}::jsonb) AS (id text, fact jsonb, expected bigint))
            WITH ORDINALITY AS x(id, fact, expected, n)
          ORDER BY x.n
          ON CONFLICT (generation, id) DO UPDATE SET fact = EXCLUDED.fact, version = EXCLUDED.version
          WHERE ${table}.version = EXCLUDED.version - 1
          RETURNING 1)`,
      );
    }
    if (free.length > 0) {
      params.push(JSON.stringify(free));
      ctes.push(
        `f_${kind} AS (INSERT INTO ${table} (generation, id, fact)
          SELECT $1, x.id, x.fact
          FROM ROWS FROM (jsonb_to_recordset($${params.length}::jsonb) AS (id text, fact jsonb)) WITH ORDINALITY AS x(id, fact, n)
          ORDER BY x.n
          ON CONFLICT (generation, id) DO UPDATE SET fact = EXCLUDED.fact, version = ${table}.version + 1)`,
      );
    }
  }
  if (ctes.length === 0) return;
  const counted = [...writes.keys()]
    .filter((kind) => writes.get(kind)?.some((r) => r.expected !== undefined))
    .map((kind) => `(SELECT count(*) FROM g_${kind})`);
  const { rows } = await db.query<{ written: number }>(
    `WITH ${ctes.join(",\n")} SELECT ${counted.length > 0 ? counted.join(" + ") : "0"}::int AS written`,
    params,
  );
  const written = rows[0]?.written ?? 0;
  if (written < checked) throw new ConcurrentFactWrite(checked - written);
}
