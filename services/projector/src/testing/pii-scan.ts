import type { Pool } from "pg";

/**
 * Every table (and view-free relation) of the pool's current schema whose rows, as text, contain
 * `needle`: the check behind "no table of any generation holds the email". Rows are cast whole
 * (every column, jsonb included), so a new table or column cannot hide from it.
 */
export async function tablesHolding(pool: Pick<Pool, "query">, needle: string): Promise<string[]> {
  const { rows: tables } = await pool.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
  );
  const holding: string[] = [];
  for (const { relname } of tables) {
    const { rows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM "${relname}" t WHERE strpos(t::text, $1) > 0`,
      [needle],
    );
    if (Number(rows[0]?.n ?? 0) > 0) holding.push(relname);
  }
  return holding;
}
