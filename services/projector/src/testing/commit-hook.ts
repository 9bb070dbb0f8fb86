import type { Pool, PoolClient } from "pg";

/** What happens to a COMMIT: it runs, or fails as a lost connection would, before or after committing. */
export type CommitFault = "none" | "abort-before-commit" | "lose-commit-ack";

/**
 * Calls `before` ahead of every COMMIT on the pool's connections (those opened from now on). It
 * may wait, to hold a transaction open while another runs, and answers the COMMIT's fault: an
 * abort rolls back instead and then fails; a lost acknowledgement commits and then fails, so the
 * caller retries work that is already stored. Both fail with SQLSTATE 08006 (connection failure).
 */
export function hookCommits(pool: Pool, before: () => Promise<CommitFault>): void {
  pool.on("connect", (client: PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { query: unknown }).query = async (...args: unknown[]) => {
      if (args[0] !== "COMMIT") return query(...args);
      const fault = await before();
      if (fault === "none") return query(...args);
      await query(fault === "abort-before-commit" ? "ROLLBACK" : "COMMIT");
      throw Object.assign(new Error(`injected: ${fault}`), { code: "08006" });
    };
  });
}
