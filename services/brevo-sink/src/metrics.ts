import { createMetricsRegistry } from "@sbs/shared";
import type { Pool } from "pg";
import { Counter, Gauge } from "prom-client";
import type { TransportStats } from "./adapters/brevo-transport.ts";
import { countBacklog } from "./adapters/change-feed.ts";
import type { PassHealth } from "./pass-loop.ts";
import type { SyncReport } from "./sync.ts";

export interface SinkMetricsDeps {
  readonly health: () => Readonly<PassHealth>;
  readonly transport: TransportStats;
  /** Backlog, failures and the event ledger are read from the sink's tables at scrape time. */
  readonly pool: Pick<Pool, "query">;
}

/**
 * The sink's /metrics. Pass outcomes are counters fed by each pass; what Brevo answered comes from
 * the transport's own counts; backlog, refused contacts and custom events are read from Postgres
 * when scraped, so they are the truth of every instance (a standby shows the leader's backlog).
 */
export function createSinkMetrics(deps: SinkMetricsDeps) {
  const registry = createMetricsRegistry();
  const registers = [registry];
  const gauge = (name: string, help: string, collect: (g: Gauge) => void | Promise<void>, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      async collect() {
        await collect(this);
      },
    });

  gauge("brevo_sink_fatal", "1 after a fatal (not retriable) error, until a pass succeeds", (g) =>
    g.set(deps.health().status === "fatal" ? 1 : 0),
  );
  gauge("brevo_sink_leading", "1 while this instance pushes contacts", (g) =>
    g.set(deps.health().status === "leading" ? 1 : 0),
  );
  gauge("brevo_sink_last_pass_seconds", "unix time of the last successful pass (0: none yet)", (g) =>
    g.set(Math.floor((deps.health().lastPassAt ?? 0) / 1000)),
  );
  gauge(
    "brevo_sink_drift_contacts",
    "sampled contacts whose Brevo state differs from the last push (last check)",
    (g) => g.set(deps.health().drift?.drifted ?? 0),
  );
  gauge(
    "brevo_sink_brevo_responses",
    "Brevo responses since start, by endpoint (method and path template) and HTTP status ('error': none came)",
    (g) => {
      g.reset();
      for (const [key, n] of deps.transport.responses) {
        const at = key.lastIndexOf(" ");
        g.set({ endpoint: key.slice(0, at), status: key.slice(at + 1) }, n);
      }
    },
    ["endpoint", "status"],
  );
  gauge("brevo_sink_rate_limited", "Brevo 429 answers since start (each one waited out, then retried)", (g) =>
    g.set(deps.transport.throttled),
  );
  gauge("brevo_sink_retries", "Brevo calls retried after a 5xx, a timeout or a network error, since start", (g) =>
    g.set(deps.transport.retries),
  );

  // One database read per scrape for the three table-backed figures; a failure reports itself
  // instead of failing the scrape (the process metrics still matter when Postgres is away).
  let snapshot: Promise<TableFigures | undefined> | undefined;
  const tables = () => {
    snapshot ??= readTables(deps.pool).finally(() => setTimeout(() => (snapshot = undefined), 1000).unref());
    return snapshot;
  };
  gauge("brevo_sink_database_up", "1 when the last scrape could read the sink's tables", async (g) =>
    g.set((await tables()) ? 1 : 0),
  );
  gauge("brevo_sink_backlog_customers", "customers changed in the projection and not pushed yet", async (g) => {
    const t = await tables();
    if (t) g.set(t.backlog);
  });
  /** A gauge with one series per key of a table figure (codes, statuses). */
  const tableSeries = (
    name: string,
    help: string,
    label: string,
    pick: (t: TableFigures) => ReadonlyMap<string, number>,
  ) =>
    gauge(
      name,
      help,
      async (g) => {
        const t = await tables();
        if (!t) return;
        g.reset();
        for (const [key, n] of pick(t)) g.set({ [label]: key }, n);
      },
      [label],
    );
  tableSeries(
    "brevo_sink_failures",
    "contacts Brevo refused, retried later (brevo_sync_failures), by code",
    "code",
    (t) => t.failures,
  );
  tableSeries(
    "brevo_sink_events",
    "custom events in the ledger by status (sent, failed, uncertain, sending)",
    "status",
    (t) => t.events,
  );

  const pushed = new Counter({
    name: "brevo_sink_contacts_pushed_total",
    help: "contact changes Brevo confirmed, by this instance",
    registers,
  });
  const refused = new Counter({
    name: "brevo_sink_contacts_refused_total",
    help: "contact pushes Brevo refused (see brevo_sink_failures), by this instance",
    registers,
  });
  const passes = new Counter({ name: "brevo_sink_passes_total", help: "sync passes completed as leader", registers });

  return {
    registry,
    recordPass(report: SyncReport) {
      passes.inc();
      pushed.inc(report.pushed);
      refused.inc(report.failed);
    },
  };
}

interface TableFigures {
  readonly backlog: number;
  readonly failures: ReadonlyMap<string, number>;
  readonly events: ReadonlyMap<string, number>;
}

async function readTables(pool: Pick<Pool, "query">): Promise<TableFigures | undefined> {
  try {
    const client = { query: pool.query.bind(pool) } as Parameters<typeof countBacklog>[0];
    const [backlog, failures, events] = await Promise.all([
      countBacklog(client),
      pool.query<{ code: string; n: string }>("SELECT code, count(*) AS n FROM brevo_sync_failures GROUP BY code"),
      pool.query<{ status: string; n: string }>("SELECT status, count(*) AS n FROM brevo_event_ledger GROUP BY status"),
    ]);
    return {
      backlog,
      failures: new Map(failures.rows.map((r) => [r.code, Number(r.n)])),
      events: new Map(events.rows.map((r) => [r.status, Number(r.n)])),
    };
  } catch {
    return undefined;
  }
}
