import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { toReadModelRow } from "@sbs/projector/domain";
import { createLogger, createPool, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "./adapters/clock.ts";
import { createPgEventSource } from "./adapters/pg-event-source.ts";
import { createPgProjectionSource } from "./adapters/pg-projection-source.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import { MIGRATIONS_DIR } from "./app.ts";
import { planAll } from "./commands/plan.ts";
import { parseSinkConfigText } from "./config-file.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import { createSinkMetrics } from "./metrics.ts";
import { syncOnce } from "./sync.ts";
import { population } from "./testing/customers.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { untilVisibleToFeed } from "./testing/feed-visibility.ts";
import { testSyncOptions, testTransport } from "./testing/harness.ts";
import { brevoDiffersFromDesired, eventsSentTwice } from "./testing/oracle.ts";
import { brevoContactReader, sampleDrift } from "./verify.ts";

/**
 * The sink on real PostgreSQL: its migrations, its state tables, the customer_metrics adapter
 * (against a stand-in table with the read-model columns, since the projector's view is built
 * elsewhere), and a real `kill -9` of a sink process between the Brevo call and the bookkeeping.
 */
const CONFIG_YAML = `
version: 1
lists: { all_customers: 2, subscribers: 3, churned: 4 }
events: { send_after: "2023-01-01T00:00:00Z" }
`;
const config = parseSinkConfigText(CONFIG_YAML);
const logger = createLogger({ service: "brevo-sink-int", level: "silent" });
const CHILD = fileURLToPath(new URL("./testing/crash-child.ts", import.meta.url));
const REPO = fileURLToPath(new URL("../../..", import.meta.url));

let url: string;
let schema: string;
let drop: () => Promise<void>;
let pool: Pool;

beforeAll(async () => {
  url = testStack().databaseUrl;
  ({ schema, drop } = await isolatedSchema(url));
  await migrate({ url, dir: MIGRATIONS_DIR, schema, logger });
  pool = createPool({ url, schema, applicationName: "brevo-sink-int" });
  await pool.query(`
    CREATE TABLE customer_metrics (
      customer_id text PRIMARY KEY, email text, name text, phone text, currency text, created_at timestamptz,
      deleted boolean, metadata jsonb, payment_count int, total_spent jsonb, average_order_value jsonb,
      last_payment_at timestamptz, failed_payment_count int, refunded_total jsonb, dispute_count int, mrr jsonb,
      subscription_status text, plan_name text, subscription_started_at timestamptz, trial_end timestamptz,
      cancel_at_period_end boolean, current_period_end timestamptz, churned boolean, last_event_at timestamptz,
      updated_at timestamptz, removed boolean, generation integer, change_xid xid8)`);
  // The projector's change feed (its migration 0002) over the stand-in table.
  await pool.query("CREATE VIEW customer_changes AS SELECT * FROM customer_metrics");
  await pool.query(`
    CREATE TABLE customer_events (seq bigserial PRIMARY KEY, event_id text, type text, created bigint,
      customer_id text, live boolean, object jsonb)`);
});
afterAll(async () => {
  await pool?.end();
  await drop?.();
});

/** Writes rows the way a projector would: the row form of the read model, a new change_xid. */
async function project(models: readonly CustomerReadModel[]) {
  await pool.query("DELETE FROM customer_metrics WHERE customer_id = ANY($1)", [models.map((m) => m.customerId)]);
  await pool.query("INSERT INTO customer_metrics SELECT * FROM jsonb_populate_recordset(NULL::customer_metrics, $1)", [
    JSON.stringify(models.map(toReadModelRow)),
  ]);
  await pool.query(
    `UPDATE customer_metrics SET updated_at = clock_timestamp(), removed = false, generation = 1,
       change_xid = pg_current_xact_id() WHERE change_xid IS NULL`,
  );
  await untilVisibleToFeed(pool);
}

async function startFake(): Promise<FakeBrevo> {
  const fake = await startFakeBrevo({ importDelayMs: 5, rateLimits: { contacts: { perSecond: 1000, perHour: 1e6 } } });
  const transport = testTransport(fake);
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await transport.createAttribute(a.attribute, a.type);
  fake.resetLog();
  return fake;
}

const run = (fake: FakeBrevo, options = {}) =>
  syncOnce(
    {
      config,
      source: createPgProjectionSource(pool),
      events: createPgEventSource(pool),
      state: createPgSinkState(pool),
      transport: testTransport(fake),
      logger,
      clock: systemClock,
    },
    { ...testSyncOptions, ...options },
  );

function runChild(fake: FakeBrevo, crashAfter: string): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        DATABASE_URL: url,
        DATABASE_SCHEMA: schema,
        BREVO_URL: fake.url,
        BREVO_API_KEY: fake.apiKey,
        SINK_CONFIG_YAML: CONFIG_YAML,
        CRASH_AFTER: crashAfter,
      },
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      signal === null && code !== 0 ? reject(new Error(stderr)) : resolve(signal ?? code),
    );
  });
}

describe("brevo-sink on PostgreSQL", () => {
  it("syncs from customer_metrics, and a rebuild that changes no value costs zero Brevo calls", async () => {
    const fake = await startFake();
    try {
      const models = population(120, 11);
      await project(models);
      const before = await planAll(
        { config, source: createPgProjectionSource(pool), state: createPgSinkState(pool) },
        3,
      );
      expect(before.create).toBe(models.filter((m) => m.email !== null).length);
      const report = await run(fake);
      expect(report.pushed).toBe(before.create);
      expect(brevoDiffersFromDesired(fake, config, models)).toEqual([]);
      const stored = await pool.query("SELECT count(*)::int AS n FROM brevo_contact_state");
      expect(stored.rows[0]).toEqual({ n: before.create });

      // Every row rewritten with the same values (a new change_xid): read again, nothing to send.
      await project(models);
      fake.resetLog();
      const rebuild = await run(fake);
      expect(rebuild.customers).toBe(models.length);
      expect(fake.log).toEqual([]);
      const after = await planAll(
        { config, source: createPgProjectionSource(pool), state: createPgSinkState(pool) },
        3,
      );
      expect(after).toMatchObject({ create: 0, update: 0, delete: 0 });

      // The drift check (pnpm cli verify) reads a random sample back from Brevo: nothing differs.
      const state = createPgSinkState(pool);
      const drift = await sampleDrift({
        config,
        state,
        source: createPgProjectionSource(pool),
        extIds: await state.samplePushed(20),
        getContact: brevoContactReader({ baseUrl: fake.url, apiKey: fake.apiKey }),
      });
      expect(drift).toMatchObject({ sampled: 20, missing: 0, vsPushed: {}, vsDesired: {} });
    } finally {
      await fake.close();
    }
  });

  it("kill -9 between the Brevo call and the bookkeeping: re-sent, never lost, no event twice", async () => {
    const fake = await startFake();
    try {
      const models = population(30, 12).map((m) => ({ ...m, customerId: m.customerId.replace("cus_", "cus_k") }));
      await project(models);
      // The child pushes one contact at a time and dies after the 7th Brevo confirmation.
      expect(await runChild(fake, "contacts:7")).toBe("SIGKILL");
      const known = await pool.query("SELECT count(*)::int AS n FROM brevo_contact_state WHERE ext_id LIKE 'cus_k%'");
      expect(known.rows[0]).toEqual({ n: 0 }); // Brevo has 7 contacts the sink never recorded
      expect([...fake.contacts.values()].filter((c) => c.extId?.startsWith("cus_k"))).toHaveLength(7);

      const withEmail = models.filter((m) => m.email !== null);
      for (const [i, m] of withEmail.slice(0, 5).entries()) {
        await pool.query(
          "INSERT INTO customer_events (event_id, type, created, customer_id, live, object) VALUES ($1, 'invoice.payment_failed', 1710000000, $2, true, $3)",
          [`evt_k${i}`, m.customerId, JSON.stringify({ id: `in_${i}`, currency: "usd", amount_due: 500 })],
        );
      }
      // The next process finishes the contacts, sends evt_k0..evt_k2 and dies after evt_k2 was accepted.
      expect(await runChild(fake, "event:evt_k2")).toBe("SIGKILL");
      const sent = await run(fake);
      expect(sent.events.sent).toBe(2);
      expect(brevoDiffersFromDesired(fake, config, models)).toEqual([]);
      expect(eventsSentTwice(fake)).toEqual([]);
      expect(fake.events).toHaveLength(5);
      const ledger = await pool.query("SELECT stripe_event_id, status FROM brevo_event_ledger ORDER BY 1");
      expect(ledger.rows.find((r) => r.stripe_event_id === "evt_k2")).toEqual({
        stripe_event_id: "evt_k2",
        status: "sending",
      });
    } finally {
      await fake.close();
    }
  });

  it("serves /metrics figures from its transport, its passes and its tables", async () => {
    const fake = await startFake();
    try {
      const transport = testTransport(fake);
      const health = {
        status: "leading",
        epoch: 1,
        lastPassAt: 1_700_000_000_000,
        drift: undefined,
        fatal: undefined,
      } as const;
      const metrics = createSinkMetrics({ health: () => health, transport: transport.stats, pool });
      const models = population(30, 5).map((m) => ({ ...m, customerId: `metrics_${m.customerId}` }));
      await project(models);
      const report = await syncOnce(
        {
          config,
          source: createPgProjectionSource(pool),
          events: createPgEventSource(pool),
          state: createPgSinkState(pool),
          transport,
          logger,
          clock: systemClock,
        },
        testSyncOptions,
      );
      metrics.recordPass(report);
      // One more change, not pushed yet: the backlog; a refused contact and a sent event: the tables.
      await project([{ ...(models[0] as CustomerReadModel), name: "Changed After The Pass" }]);
      await pool.query(
        "INSERT INTO brevo_sync_failures (ext_id, code, reason) VALUES ('metrics_x', 'invalid_parameter', 'bad email')",
      );
      await pool.query(
        "INSERT INTO brevo_event_ledger (stripe_event_id, customer_id, event_name, status) VALUES ('evt_metrics', 'metrics_x', 'paid', 'sent')",
      );
      const text = await metrics.registry.metrics();
      const value = (series: string) =>
        Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
      expect(value("brevo_sink_contacts_pushed_total")).toBe(report.pushed);
      expect(report.pushed).toBeGreaterThan(0);
      expect(value("brevo_sink_leading")).toBe(1);
      expect(value("brevo_sink_last_pass_seconds")).toBe(1_700_000_000);
      const responses = [...text.matchAll(/^brevo_sink_brevo_responses\{endpoint="([^"]+)",status="(\d+)"\} (\d+)$/gm)];
      expect(responses.reduce((sum, m) => sum + Number(m[3]), 0)).toBe(transport.stats.requests);
      expect(responses.map((m) => m[1]).every((e) => !e?.includes("metrics_"))).toBe(true);
      expect(value("brevo_sink_backlog_customers")).toBe(1);
      expect(value('brevo_sink_failures{code="invalid_parameter"}')).toBe(1);
      expect(value('brevo_sink_events{status="sent"}')).toBeGreaterThanOrEqual(1);
      expect(value("brevo_sink_database_up")).toBe(1);
      expect(text).toContain("process_cpu_seconds_total");
    } finally {
      await fake.close();
    }
  });
});
