import type { ClientBase } from "pg";

/**
 * The sink's position in the projector's change feed (`customer_changes`, the projector's
 * migration 0002): `g<generation>:<xid>|<customer_id>`, the last row read. Shared with
 * `pnpm cli status`, which counts what lies past it (the backlog).
 */

/** Rows of `customer_changes c` past the cursor given as $1 (generation), $2 (xid), $3 (customer id). */
export const PAST_CURSOR =
  "($1::integer IS NULL OR c.generation <> $1 OR (c.change_xid, c.customer_id) > ($2::xid8, $3::text))";

const CURSOR = /^g(\d+):(\d+)\|(.*)$/s;

/**
 * The query parameters for PAST_CURSOR. No cursor yet, or one of the earlier timestamp format:
 * every row is past it (the sink starts over; re-read rows diff to nothing).
 */
export function cursorParams(cursor: string | undefined): [number | null, string, string] {
  const m = cursor === undefined ? null : CURSOR.exec(cursor);
  return m === null ? [null, "0", ""] : [Number(m[1]), m[2] ?? "0", m[3] ?? ""];
}

export function cursorAt(generation: unknown, changeXid: unknown, customerId: unknown): string {
  return `g${String(generation)}:${String(changeXid)}|${String(customerId)}`;
}

/**
 * Customers changed past the sink's cursor in the projector's change feed: not pushed yet.
 * Without a cursor, or with one of another generation, every customer is.
 */
export async function countBacklog(db: Pick<ClientBase, "query">): Promise<number> {
  const stored = await db.query<{ value: string }>("SELECT value FROM brevo_sink_cursors WHERE name = 'projection'");
  const cursor = stored.rows[0]?.value;
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM customer_changes c WHERE ${PAST_CURSOR}`,
    cursorParams(cursor),
  );
  return Number(rows[0]?.n ?? 0);
}
