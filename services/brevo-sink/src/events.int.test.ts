import { createKafka, createLogger, createPool, createSchemaRegistry, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName, waitFor, waitForGroupCaughtUp } from "@sbs/shared/testing";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "./adapters/clock.ts";
import { noEvents } from "./adapters/event-source.ts";
import { createKafkaEventConsumer, type KafkaEventConsumer } from "./adapters/kafka-event-consumer.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import { createMemoryProjectionSource } from "./adapters/projection-source.ts";
import { createSinkApp, MIGRATIONS_DIR } from "./app.ts";
import { loadSinkEnv } from "./config.ts";
import { parseSinkConfigText } from "./config-file.ts";
import { syncOnce } from "./sync.ts";
import { customer } from "./testing/customers.ts";
import { openTestEventLog, type RawStripeEvent, stripeEvent, type TestEventLog } from "./testing/event-log.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { testSyncOptions, testTransport } from "./testing/harness.ts";
import { eventsSentTwice } from "./testing/oracle.ts";

/**
 * Custom events from ingest's real event log: Avro envelopes in a real Kafka topic (registry
 * encoded under ingest's subject), the Kafka consumer of the sink, its ledger in PostgreSQL,
 * the fake Brevo. Webhook deliveries become Brevo events exactly once; re-deliveries, backfill
 * snapshots, catch-up reads and events before the watermark never; a restart (same group) and a
 * replay of the whole topic (a new group) send nothing again.
 */
const config = parseSinkConfigText(`
version: 1
lists: { all_customers: 2 }
events: { send_after: "2024-01-01T00:00:00Z" }
`);
const logger = createLogger({ service: "brevo-sink-events-int", level: "silent" });
const T = Date.parse("2025-06-01T00:00:00Z") / 1000;
const OLD = Date.parse("2023-06-01T00:00:00Z") / 1000;

let pool: Pool;
let drop: () => Promise<void>;
let log: TestEventLog;
let admin: Admin;
let fake: FakeBrevo;
let topic: string;
let schema: string;
const consumers: KafkaEventConsumer[] = [];

const ids = Array.from({ length: 6 }, (_, i) => `cus_ev_${i}`);
const invoice = (id: string, cus: string) => ({
  id,
  object: "invoice",
  customer: cus,
  currency: "eur",
  amount_due: 1999,
  amount_paid: 0,
  status: "open",
});
const sub = (id: string, cus: string) => ({ id, object: "subscription", customer: cus, status: "canceled" });
const charge = (id: string, cus: string) => ({
  id,
  object: "charge",
  customer: { id: cus, object: "customer" },
  currency: "jpy",
  amount: 500,
  amount_refunded: 500,
});

/** Two mapped webhook events per customer, one unmapped. */
const webhooks: RawStripeEvent[] = ids.flatMap((cus, i) => [
  stripeEvent("invoice.payment_failed", T + i, invoice(`in_${i}`, cus)),
  i % 2 === 0
    ? stripeEvent("customer.subscription.deleted", T + 10 + i, sub(`sub_${i}`, cus))
    : stripeEvent("charge.refunded", T + 10 + i, charge(`ch_${i}`, cus)),
  stripeEvent("charge.succeeded", T + 20 + i, charge(`ch_ok_${i}`, cus)),
]);
const mapped = webhooks.filter((e) => e.type !== "charge.succeeded");

/** The projection shows the customer without a contact as having no email: no wait for it. */
const noEmail = createMemoryProjectionSource();
noEmail.put(customer("cus_no_contact", { email: null }));

const startConsumer = async (groupId: string, contactWaitMs = 0, onEventSent?: (eventId: string) => void) => {
  const stack = testStack();
  const c = createKafkaEventConsumer({
    kafka: createKafka({
      brokers: stack.kafkaBrokers,
      clientId: "brevo-sink-events-int",
      logger,
      overrides: { retry: { retries: 3, initialRetryTime: 100 } },
    }),
    registry: createSchemaRegistry(stack.schemaRegistryUrl),
    topic,
    groupId,
    config,
    state: createPgSinkState(pool),
    transport: testTransport(fake),
    logger,
    clock: systemClock,
    contactWaitMs,
    contactPollMs: 100,
    source: noEmail,
    sessionTimeoutMs: 10_000,
    ...(onEventSent ? { onEventSent } : {}),
  });
  consumers.push(c);
  await c.start();
  return c;
};

const stopAll = async () => {
  for (const c of consumers.splice(0)) await c.stop();
};

const stripeIdsSent = () =>
  fake.events.map((e) => String((e.properties as Record<string, unknown> | undefined)?.["stripe_event_id"])).sort();

async function pushContacts(customerIds: readonly string[]) {
  const source = createMemoryProjectionSource();
  source.put(...customerIds.map((id) => customer(id)));
  await syncOnce(
    {
      config,
      source,
      events: noEvents,
      state: createPgSinkState(pool),
      transport: testTransport(fake),
      logger,
      clock: systemClock,
    },
    { ...testSyncOptions, mode: "resync" },
  );
}

beforeAll(async () => {
  const stack = testStack();
  const isolated = await isolatedSchema(stack.databaseUrl);
  drop = isolated.drop;
  schema = isolated.schema;
  await migrate({ url: stack.databaseUrl, dir: MIGRATIONS_DIR, schema: isolated.schema, logger });
  pool = createPool({ url: stack.databaseUrl, schema: isolated.schema, applicationName: "brevo-sink-events-int" });
  topic = uniqueName("brevo-sink-events");
  log = await openTestEventLog({
    brokers: stack.kafkaBrokers,
    registryUrl: stack.schemaRegistryUrl,
    topic,
    partitions: 3,
    logger,
  });
  admin = log.kafka.admin();
  await admin.connect();
  fake = await startFakeBrevo({
    importDelayMs: 5,
    rateLimits: { contacts: { perSecond: 1000, perHour: 1e6 }, events: { perSecond: 1000, perHour: 1e6 } },
  });
  const transport = testTransport(fake);
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await transport.createAttribute(a.attribute, a.type);
  await pushContacts(ids);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await admin?.disconnect();
  await log?.close();
  await fake?.close();
  await pool?.end();
  await drop?.();
});

describe("custom events from the Kafka event log", () => {
  it("sends each mapped webhook event once; never duplicates, snapshots, catch-up or old events", async () => {
    // History first, as a backfill writes it, then live deliveries with Stripe's re-deliveries.
    const snapshots = mapped.map((e) => ({ ...e, id: `evt_snapshot_${e.id}` }));
    await log.append(snapshots, "backfill");
    await log.append(mapped.slice(0, 3), "catch-up");
    await log.append([stripeEvent("invoice.payment_failed", OLD, invoice("in_old", ids[0] ?? ""))], "webhook");
    await log.append(webhooks, "webhook");
    await log.append(mapped.slice(0, 4), "webhook"); // re-deliveries of the same event ids
    // A mapped event of a customer without a contact (no email): recorded, never sent.
    await log.append([stripeEvent("invoice.payment_failed", T, invoice("in_x", "cus_no_contact"))], "webhook");

    const group = uniqueName("brevo-sink-events-group");
    const consumer = await startConsumer(group);
    await waitForGroupCaughtUp(admin, group, topic, 60_000);

    expect(stripeIdsSent()).toEqual(mapped.map((e) => e.id).sort());
    expect(eventsSentTwice(fake)).toEqual([]);
    for (const e of fake.events) expect(Object.keys(e.identifiers)).toEqual(["ext_id"]);
    expect(new Set(fake.events.map((e) => e.eventName))).toEqual(
      new Set(["payment_failed", "subscription_cancelled", "refund"]),
    );
    expect(consumer.report.sent).toBe(mapped.length);
    const ledger = await pool.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM brevo_event_ledger GROUP BY status ORDER BY status",
    );
    expect(ledger.rows).toEqual([
      { status: "failed", n: 1 },
      { status: "sent", n: mapped.length },
    ]);
  });

  it("sends nothing again after a restart, nor when the whole topic is replayed by a new group", async () => {
    const before = fake.events.length;
    const group = uniqueName("brevo-sink-events-group");
    await stopAll();
    fake.resetLog();
    // Same group: committed offsets, nothing re-read. New group: every record re-read, ledger says no.
    const first = await startConsumer(group);
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    await stopAll();
    const again = await startConsumer(group);
    await log.append(mapped.slice(0, 2), "webhook");
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    expect(first.report.duplicate).toBeGreaterThanOrEqual(mapped.length);
    expect(again.report.records).toBe(2);
    expect(again.report.duplicate).toBe(2);
    expect(fake.events.length).toBe(before);
    expect(fake.log.filter((l) => l.operation === "createEvent")).toEqual([]);
  });

  it("holds an event until its customer's contact is pushed, then sends it once", async () => {
    await stopAll();
    const group = uniqueName("brevo-sink-events-group");
    const consumer = await startConsumer(group, 30_000);
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    const late = stripeEvent("customer.subscription.trial_will_end", T + 100, {
      id: "sub_late",
      object: "subscription",
      customer: "cus_ev_late",
      trial_end: T + 3 * 86400,
    });
    await log.append([late], "webhook");
    await new Promise((r) => setTimeout(r, 1000));
    expect(stripeIdsSent()).not.toContain(late.id);
    await pushContacts(["cus_ev_late"]);
    await waitFor("the held event to be sent", async () => (stripeIdsSent().includes(late.id) ? true : undefined));
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    expect(stripeIdsSent().filter((id) => id === late.id)).toHaveLength(1);
    expect(consumer.report.sent).toBe(1);
  });
});

describe("the events consumer when kafkajs gives up", () => {
  it("starts a new consumer after a crash kafkajs will not restart, and sends every later event once", async () => {
    await stopAll();
    const group = uniqueName("brevo-sink-events-group");
    await startConsumer(group);
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    await stopAll();
    const before = fake.events.length;
    // kafkajs restarts nothing after an error marked non-retriable (as it does after "the
    // coordinator is not aware of this member"): thrown once from inside the batch.
    let thrown = 0;
    const consumer = await startConsumer(group, 0, () => {
      if (thrown++ === 0) throw Object.assign(new Error("injected: not retriable"), { retriable: false });
    });
    const fresh = ids.map((cus, i) => stripeEvent("invoice.payment_failed", T + 200 + i, invoice(`in_gu_${i}`, cus)));
    await log.append(fresh, "webhook");
    await waitForGroupCaughtUp(admin, group, topic, 60_000);
    expect(consumer.report.relaunches).toBe(1);
    // The event in flight at the crash was accepted by Brevo and stays claimed: never sent again.
    const sentNow = fake.events
      .slice(before)
      .map((e) => String((e.properties as Record<string, unknown> | undefined)?.["stripe_event_id"]));
    expect(sentNow.sort()).toEqual(fresh.map((e) => e.id).sort());
    expect(eventsSentTwice(fake)).toEqual([]);
  });
});

describe("the sink app with KAFKA_BROKERS", () => {
  it("runs the Kafka events consumer beside its passes and stops it cleanly", async () => {
    await stopAll();
    const stack = testStack();
    // The passes read a stand-in view; this test is about the events feed. It shows the customer
    // without a contact as having no email: the consumer does not wait for its contact (default
    // SINK_EVENT_CONTACT_WAIT_MS is 2 minutes) and its partition is not held up.
    await pool.query(
      "CREATE TABLE IF NOT EXISTS customer_metrics (customer_id text, email text, updated_at timestamptz, generation integer NOT NULL DEFAULT 1, change_xid xid8 NOT NULL DEFAULT pg_current_xact_id())",
    );
    await pool.query("CREATE OR REPLACE VIEW customer_changes AS SELECT * FROM customer_metrics");
    await pool.query("INSERT INTO customer_metrics VALUES ('cus_no_contact', NULL, now())");
    const env = loadSinkEnv({
      DATABASE_URL: stack.databaseUrl,
      DATABASE_SCHEMA: schema,
      BREVO_API_KEY: fake.apiKey,
      BREVO_BASE_URL: fake.url,
      KAFKA_BROKERS: stack.kafkaBrokers.join(","),
      SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
      SINK_EVENTS_TOPIC: topic,
      SINK_EVENTS_GROUP_ID: uniqueName("brevo-sink-app-events"),
      SINK_INTERVAL_MS: "60000",
      HTTP_PORT: "0",
      LOG_LEVEL: "silent",
    });
    const app = createSinkApp(env, config, { logger });
    expect(app.eventsConsumer).toBeDefined();
    try {
      await app.prepare();
      await app.start();
      const fresh = stripeEvent("invoice.payment_failed", T + 500, invoice("in_app", ids[0] ?? ""));
      await log.append([fresh], "webhook");
      await waitFor("the app to send the new event", async () =>
        stripeIdsSent().includes(fresh.id) ? true : undefined,
      );
      expect(eventsSentTwice(fake)).toEqual([]);
    } finally {
      await app.stop();
    }
  }, 60_000);
});

describe("events feed selection", () => {
  it("uses Kafka by default when KAFKA_BROKERS is set", () => {
    const base = { DATABASE_URL: "postgres://x@localhost/db", BREVO_API_KEY: "k" };
    expect(loadSinkEnv(base).events.kafka).toBeUndefined();
    const env = loadSinkEnv({ ...base, KAFKA_BROKERS: "localhost:9092", SCHEMA_REGISTRY_URL: "http://localhost:8081" });
    expect(env.events.kafka).toEqual({
      brokers: ["localhost:9092"],
      schemaRegistryUrl: "http://localhost:8081",
      topic: "stripe.events.test",
      groupId: "brevo-sink-events",
    });
    expect(() => loadSinkEnv({ ...base, KAFKA_BROKERS: "localhost:9092" })).toThrow(/SCHEMA_REGISTRY_URL/);
  });
});
