import { commands } from "@sbs/projector/commands";
import { type CustomerReadModel, type DecodedEvent, decodeEvent, foldAll, readModels } from "@sbs/projector/domain";
import { createLogger, createPool, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "./adapters/clock.ts";
import { noEvents } from "./adapters/event-source.ts";
import { createPgProjectionSource } from "./adapters/pg-projection-source.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import type { ProjectionSource } from "./adapters/projection-source.ts";
import { MIGRATIONS_DIR } from "./app.ts";
import { parseSinkConfigText } from "./config-file.ts";
import { type SyncOptions, syncOnce } from "./sync.ts";
import { openTestEventLog, type RawStripeEvent, stripeEvent, type TestEventLog } from "./testing/event-log.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { untilVisibleToFeed } from "./testing/feed-visibility.ts";
import { testSyncOptions, testTransport } from "./testing/harness.ts";
import { brevoDiffersFromDesired } from "./testing/oracle.ts";
import { stripeHistory } from "./testing/stripe-history.ts";

/**
 * The sink on the real projector: the projector's own migrations and fold (driven through its
 * public `rebuild` command, which runs `runRebuild`) fill its `customer_metrics` view from a real
 * Kafka topic of ingest envelopes; the sink, with its tables in a schema of its own, reads that
 * view. Oracle C: the fake Brevo's contacts equal the desired state of every customer, the
 * desired state derived independently by folding the same events with `@sbs/projector/domain`.
 * A rebuild of the projection (new generation, same values) costs zero Brevo calls.
 */
const config = parseSinkConfigText(`
version: 1
attributes:
  VIP_TIER: { from: metadata.customer_tier }
lists:
  all_customers: 2
  subscribers: 3
  churned: 4
  trialing: 5
  past_due: 6
  custom:
    - { name: big_spenders, list_id: 7, when: "total_spent >= 20" }
deleted_customers: unlink_lists
events: { enabled: false }
`);
const logger = createLogger({ service: "brevo-sink-projector-int", level: "silent" });
const N = 150;

let projection: { schema: string; drop: () => Promise<void> };
let sink: { schema: string; drop: () => Promise<void> };
let pool: Pool;
let log: TestEventLog;
let fake: FakeBrevo;
let env: Record<string, string>;
const history: RawStripeEvent[] = stripeHistory(N, "pi");

/** The projector's read models, computed without the projector's IO: the oracle's desired state. */
function expectedModels(events: readonly RawStripeEvent[]): CustomerReadModel[] {
  const decoded: DecodedEvent[] = events.map((raw) => {
    const r = decodeEvent(raw);
    if (!r.ok) throw new Error(`test event ${raw.id} does not decode: ${r.reason}`);
    return r.event;
  });
  return readModels(foldAll(decoded));
}

/** The projector's public rebuild command: fold the topic into a new generation and switch to it. */
async function rebuild() {
  const out: string[] = [];
  const err: string[] = [];
  const code = await commands.rebuild.run(["--fresh"], {
    env,
    out: { write: (t: string) => out.push(t) },
    err: { write: (t: string) => err.push(t) },
  });
  if (code !== 0) throw new Error(`projector rebuild failed (${code}): ${err.join("")}`);
  // Another transaction open on the server (a benchmark beside the tests) holds the feed back.
  await untilVisibleToFeed(pool, 90_000);
  return JSON.parse(out.join("")) as { generation: number; switched: boolean; records: number };
}

async function readAll(source: ProjectionSource): Promise<CustomerReadModel[]> {
  const all: CustomerReadModel[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await source.changedSince(cursor, 1000);
    all.push(...page.rows);
    cursor = page.cursor;
    if (page.rows.length < 1000) return all;
  }
}

const run = (options: Partial<SyncOptions> = {}) =>
  syncOnce(
    {
      config,
      source: createPgProjectionSource(pool, { schema: projection.schema }),
      events: noEvents,
      state: createPgSinkState(pool),
      transport: testTransport(fake),
      logger,
      clock: systemClock,
    },
    { ...testSyncOptions, ...options },
  );

beforeAll(async () => {
  const stack = testStack();
  projection = await isolatedSchema(stack.databaseUrl);
  sink = await isolatedSchema(stack.databaseUrl);
  const topic = uniqueName("brevo-sink-proj");
  env = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_SCHEMA: projection.schema,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName("brevo-sink-proj-group"),
    LOG_LEVEL: "silent",
    KAFKA_SESSION_TIMEOUT_MS: "10000",
  };
  log = await openTestEventLog({
    brokers: stack.kafkaBrokers,
    registryUrl: stack.schemaRegistryUrl,
    topic,
    partitions: 3,
    logger,
  });
  await log.append(history);
  // The sink's tables in a schema of their own, the view found through PROJECTION_SCHEMA.
  await migrate({ url: stack.databaseUrl, dir: MIGRATIONS_DIR, schema: sink.schema, logger });
  pool = createPool({ url: stack.databaseUrl, schema: sink.schema, applicationName: "brevo-sink-projector-int" });
  fake = await startFakeBrevo({ importDelayMs: 5, rateLimits: { contacts: { perSecond: 1000, perHour: 1e6 } } });
  const transport = testTransport(fake);
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await transport.createAttribute(a.attribute, a.type);
  fake.resetLog();
}, 120_000);

afterAll(async () => {
  await log?.close();
  await fake?.close();
  await pool?.end();
  await sink?.drop();
  await projection?.drop();
});

describe("brevo-sink on the real projector's customer_metrics", () => {
  it("pushes every customer's desired state (oracle C) from the projector's view", async () => {
    const built = await rebuild();
    expect(built).toMatchObject({ switched: true, records: history.length });
    const expected = expectedModels(history);
    expect(expected).toHaveLength(N);

    // The sink reads the projector's rows as the projector's pure fold derives them.
    const rows = await readAll(createPgProjectionSource(pool, { schema: projection.schema }));
    const byId = (ms: readonly CustomerReadModel[]) => [...ms].sort((a, b) => a.customerId.localeCompare(b.customerId));
    expect(byId(rows)).toEqual(byId(expected));

    const report = await run();
    expect(report.customers).toBe(N);
    expect(report.failed).toBe(0);
    expect(report.bulkPages).toBeGreaterThan(0);
    expect(brevoDiffersFromDesired(fake, config, expected)).toEqual([]);
    // Every list rule met at least one customer, so the oracle checked real memberships.
    const members = new Set([...fake.contacts.values()].flatMap((c) => [...c.listIds]));
    expect([...members].sort()).toEqual([2, 3, 4, 5, 6, 7]);
  }, 120_000);

  it("a projector rebuild (same values, new generation) makes zero Brevo calls", async () => {
    const built = await rebuild();
    expect(built.switched).toBe(true);
    fake.resetLog();
    const incremental = await run();
    expect(incremental.pushed).toBe(0);
    const resync = await run({ mode: "resync" });
    expect(resync.customers).toBe(N);
    expect(resync.unchanged + resync.skippedNoEmail).toBe(N);
    expect(fake.log).toEqual([]);
  }, 120_000);

  it("after new events and a rebuild, pushes only what changed and stays equal to the desired state", async () => {
    const T = 1_767_225_600; // 2026-01-01
    const changes: RawStripeEvent[] = [
      stripeEvent("charge.succeeded", T, {
        id: "ch_pi_new_1",
        object: "charge",
        customer: "cus_pi_1",
        status: "succeeded",
        captured: true,
        paid: true,
        amount: 99_000,
        amount_captured: 99_000,
        amount_refunded: 0,
        refunded: false,
        currency: "eur",
        created: T,
      }),
      stripeEvent("customer.updated", T + 1, {
        id: "cus_pi_2",
        object: "customer",
        email: "pi.2.new@example.com",
        name: "Grace Hopper",
        phone: null,
        currency: "jpy",
        created: 1_735_689_600 + 2 * 60,
        metadata: { customer_tier: "gold" },
        discount: null,
      }),
      stripeEvent("customer.deleted", T + 2, {
        id: "cus_pi_7",
        object: "customer",
        email: "pi.7@example.com",
        deleted: true,
        created: 1_735_689_600 + 7 * 60,
        metadata: {},
      }),
    ];
    await log.append(changes);
    await rebuild();
    fake.resetLog();
    const report = await run({ mode: "resync" });
    expect(report.pushed).toBe(3);
    const expected = expectedModels([...history, ...changes]);
    expect(brevoDiffersFromDesired(fake, config, expected)).toEqual([]);
    expect(fake.contactByExtId("cus_pi_2")?.email).toBe("pi.2.new@example.com");
  }, 120_000);
});
