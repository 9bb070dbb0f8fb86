/**
 * The Postgres side of a live phase, which the projector's own figures cannot show: how much CPU
 * the server spent (all `postgres` processes on this machine, from /proc), and what the projector's
 * connections were doing, sampled from pg_stat_activity. An event loop that is idle half the time
 * is waiting for one of these: the server running SQL, a lock, the WAL, or nothing at all (the
 * connection is idle in its transaction while JavaScript runs, or not in a transaction).
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Pool } from "pg";

/** CPU seconds (user + system) of every process named `postgres`, exited backends included; undefined off Linux. */
export function postgresCpuSeconds(clockTicks: number): number | undefined {
  let total = 0;
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
        if (name !== "postgres") continue;
        // utime, stime, and cutime, cstime: the postmaster's share holds the backends that
        // exited (a pool closes idle connections), which the live processes no longer show.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / clockTicks;
      } catch {
        // The process exited between the listing and the read.
      }
    }
  } catch {
    return undefined;
  }
  return total;
}

/** What one sampled connection was doing, in words a reader of the bench output can act on. */
export function stateOf(row: { state: string | null; wait_event_type: string | null; wait_event: string | null }) {
  if (row.state === "idle") return "idle (no transaction: JavaScript or Kafka)";
  if (row.state === "idle in transaction") return "idle in transaction (JavaScript)";
  if (row.wait_event_type === null) return "running SQL (CPU)";
  if (row.wait_event_type === "Lock") return `lock wait: ${row.wait_event}`;
  if (row.wait_event_type === "Client") return "sending results (Client)";
  return `${row.wait_event_type}: ${row.wait_event}`;
}

export interface BackendProfile {
  /** Share of connection samples per state, in percent, largest first. */
  readonly shares: readonly (readonly [string, number])[];
  readonly samples: number;
  /** Mean number of the projector's connections seen per sample. */
  readonly connections: number;
}

/**
 * Samples the projector's connections (application_name `projector`) every `everyMs` until
 * stopped. Sampling costs one small query per tick on its own connection.
 */
export function sampleBackends(pool: Pool, everyMs = 100) {
  const counts = new Map<string, number>();
  let ticks = 0;
  let seen = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await pool
        .query<{ state: string | null; wait_event_type: string | null; wait_event: string | null }>(
          `SELECT state, wait_event_type, wait_event FROM pg_stat_activity
            WHERE application_name = 'projector' AND backend_type = 'client backend'`,
        )
        .catch(() => ({ rows: [] }));
      ticks++;
      seen += rows.length;
      for (const row of rows) {
        const state = stateOf(row);
        counts.set(state, (counts.get(state) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async (): Promise<BackendProfile> => {
    running = false;
    await loop;
    const shares = [...counts]
      .map(([state, n]) => [state, (n / Math.max(1, seen)) * 100] as const)
      .sort((a, b) => b[1] - a[1]);
    return { shares, samples: ticks, connections: seen / Math.max(1, ticks) };
  };
}
