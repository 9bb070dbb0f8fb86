import type { ClientBase } from "pg";
import { lockGeneration } from "../store/positions.ts";

type Db = Pick<ClientBase, "query">;

export interface GenerationInfo {
  readonly generation: number;
  readonly state: string;
  readonly createdAt: Date;
  /** When it went live (null: never). */
  readonly switchedAt: Date | null;
  /** When a later generation replaced it (retired ones). */
  readonly retiredAt: Date | null;
  readonly customers: number;
  /** Customers deleted in the live generation whose email or name this one still holds. */
  readonly stalePii: number;
}

/** Every generation with its size and how much personal data of since-deleted customers it keeps. */
export async function listGenerations(db: Db): Promise<GenerationInfo[]> {
  const { rows } = await db.query<{
    generation: number;
    state: string;
    created_at: Date;
    switched_at: Date | null;
    retired_at: Date | null;
    customers: string;
    stale_pii: string;
  }>(
    `SELECT g.generation, g.state, g.created_at, g.switched_at,
       CASE WHEN g.state = 'retired' THEN
         (SELECT min(n.switched_at) FROM projection_generation n WHERE n.generation > g.generation AND n.switched_at IS NOT NULL)
       END AS retired_at,
       (SELECT count(*) FROM customer_projection p WHERE p.generation = g.generation) AS customers,
       (SELECT count(*) FROM customer_projection p
          JOIN customer_projection l ON l.customer_id = p.customer_id AND l.deleted
          JOIN projection_pointer ptr ON l.generation = ptr.generation
        WHERE p.generation = g.generation AND p.generation <> ptr.generation
          AND (p.email IS NOT NULL OR p.name IS NOT NULL OR p.phone IS NOT NULL)) AS stale_pii
     FROM projection_generation g ORDER BY g.generation`,
  );
  return rows.map((r) => ({
    generation: r.generation,
    state: r.state,
    createdAt: r.created_at,
    switchedAt: r.switched_at,
    retiredAt: r.retired_at,
    customers: Number(r.customers),
    stalePii: Number(r.stale_pii),
  }));
}

/** Tables that hold rows per generation, children of projection_generation last to first. */
async function generationTables(db: Db): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND c.column_name = 'generation' AND t.table_type = 'BASE TABLE'
       AND c.table_name NOT IN ('projection_generation', 'projection_pointer')
     ORDER BY c.table_name`,
  );
  return rows.map((r) => r.table_name);
}

/**
 * Drops a generation that is not live: its rows in every table, then the generation itself.
 * Under its advisory lock, so a rebuild resuming it cannot write meanwhile.
 */
export async function dropGeneration(db: ClientBase, generation: number): Promise<number> {
  await lockGeneration(db, generation);
  const { rows } = await db.query<{ generation: number }>("SELECT generation FROM projection_pointer FOR UPDATE");
  if (rows[0]?.generation === generation) throw new Error(`generation ${generation} is live: it cannot be dropped`);
  let removed = 0;
  for (const table of await generationTables(db)) {
    const r = await db.query(`DELETE FROM ${table} WHERE generation = $1`, [generation]);
    removed += r.rowCount ?? 0;
  }
  const gone = await db.query("DELETE FROM projection_generation WHERE generation = $1", [generation]);
  if (gone.rowCount === 0) throw new Error(`there is no generation ${generation}`);
  return removed;
}

/**
 * Carries deletions made since a retired generation froze into it: a customer deleted in the live
 * generation gets the live (scrubbed) customer fact and a blanked row there too. Deletion is
 * absorbing, so this is what the retired generation would hold had it seen the event; a rollback
 * to it stays correct and holds no personal data of deleted customers.
 */
export async function scrubRetired(db: ClientBase, generation: number): Promise<number> {
  await lockGeneration(db, generation);
  const facts = await db.query(
    `UPDATE fact_customer r SET fact = l.fact
     FROM fact_customer l JOIN projection_pointer ptr ON l.generation = ptr.generation
     WHERE l.deleted AND r.generation = $1 AND r.generation <> ptr.generation AND r.id = l.id AND r.fact <> l.fact`,
    [generation],
  );
  const rows = await db.query(
    // country and city (migration 0007) are the customer's address: personal data too.
    `UPDATE customer_projection r SET email = NULL, name = NULL, phone = NULL, metadata = '{}', deleted = true,
       country = NULL, city = NULL
     FROM customer_projection l JOIN projection_pointer ptr ON l.generation = ptr.generation
     WHERE l.deleted AND r.generation = $1 AND r.generation <> ptr.generation AND r.customer_id = l.customer_id
       AND (r.email IS NOT NULL OR r.name IS NOT NULL OR r.phone IS NOT NULL OR r.metadata <> '{}' OR NOT r.deleted
         OR r.country IS NOT NULL OR r.city IS NOT NULL)`,
    [generation],
  );
  return (facts.rowCount ?? 0) + (rows.rowCount ?? 0);
}
