import type { Pool } from "pg";

/**
 * Waits until the change feed can hand out everything committed so far. The sink reads only rows
 * whose change_xid is below the cluster's oldest running transaction (pg-projection-source.ts):
 * any transaction open anywhere on the server (another test file, a benchmark) holds the feed
 * back until it ends. A test that writes rows and syncs at once would otherwise see nothing.
 */
export async function untilVisibleToFeed(pool: Pick<Pool, "query">, timeoutMs = 60_000): Promise<void> {
  const { rows } = await pool.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid");
  const mine = rows[0]?.xid ?? "0";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows: now } = await pool.query<{ passed: boolean }>(
      "SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS passed",
      [mine],
    );
    if (now[0]?.passed) return;
    if (Date.now() > deadline)
      throw new Error(
        `a transaction older than xid ${mine} is still open after ${timeoutMs} ms: the feed is held back`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}
