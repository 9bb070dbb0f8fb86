import { startPrivateKafka } from "@sbs/infra/private-kafka";
import { createKafka, createLogger, createSchemaRegistry } from "@sbs/shared";
import { testStack, uniqueName, waitFor } from "@sbs/shared/testing";
import type { IHeaders } from "kafkajs";
import { afterAll, describe, expect, it } from "vitest";
import { createIngest, type Ingest } from "./app.ts";
import { loadIngestConfig } from "./config.ts";
import type { StripeEventEnvelope } from "./domain/envelope-schema.ts";
import { WEBHOOK_PATH } from "./http/server.ts";
import { objects, stripeEventBody, stripeSignatureHeader } from "./testing/stripe-signing.ts";

const stack = testStack();
const logger = createLogger({ service: "ingest-int", level: "silent" });
const SECRET = "whsec_int_0123456789abcdef0123456789";
const running: Ingest[] = [];
afterAll(async () => {
  await Promise.all(running.map((i) => i.stop()));
});

function config(
  brokers: string[],
  topics: { test: string; live: string },
  produceTimeoutMs = 5000,
  extra: Record<string, string> = {},
) {
  return loadIngestConfig({
    KAFKA_BROKERS: brokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    STRIPE_WEBHOOK_SECRETS: `main=${SECRET}`,
    KAFKA_TOPIC_TEST: topics.test,
    KAFKA_TOPIC_LIVE: topics.live,
    KAFKA_TOPIC_PARTITIONS: "3",
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: "0",
    METRICS_PORT: "0",
    // The one-broker test stack (set by the test setup): replication factor 1, allowed.
    KAFKA_SINGLE_NODE: process.env["KAFKA_SINGLE_NODE"] ?? "false",
    PRODUCE_TIMEOUT_MS: String(produceTimeoutMs),
    ...extra,
  });
}

async function start(cfg: ReturnType<typeof config>) {
  const ingest = await createIngest(cfg, { logger });
  running.push(ingest);
  const { webhook, internal } = await ingest.listen();
  return {
    ingest,
    url: `http://127.0.0.1:${webhook.port}${WEBHOOK_PATH}`,
    internal: `http://127.0.0.1:${internal?.port}`,
  };
}

/** A realistic mix: customers, their charges, unknown types; some in live mode. */
function events(n: number, prefix: string) {
  return Array.from({ length: n }, (_, i) => {
    const customer = `cus_${prefix}${i % 17}`;
    const kind = i % 3;
    const object =
      kind === 0 ? { ...objects.customer(), id: customer } : { ...objects.charge(customer), id: `ch_${prefix}${i}` };
    const body = stripeEventBody({
      id: `evt_${prefix}${i}`,
      type: kind === 0 ? "customer.updated" : kind === 1 ? "charge.succeeded" : "charge.brand_new_type",
      object,
      created: Math.floor(Date.now() / 1000) - 10,
      livemode: i % 5 === 0,
    });
    return { id: `evt_${prefix}${i}`, customer, body, live: i % 5 === 0 };
  });
}

async function deliver(url: string, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json; charset=utf-8",
      "stripe-signature": stripeSignatureHeader(body, SECRET, Math.floor(Date.now() / 1000)),
    },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

interface Stored {
  key: string;
  headers: Record<string, string>;
  envelope: StripeEventEnvelope;
}

/** Reads topics from the beginning until `done` says enough, decoding through the registry. */
async function readTopics(brokers: string[], topics: string[], done: (seen: Stored[]) => boolean): Promise<Stored[]> {
  const consumer = createKafka({ brokers, clientId: "ingest-int-reader", logger }).consumer({
    groupId: uniqueName("ingest-int-reader"),
  });
  const registry = createSchemaRegistry(stack.schemaRegistryUrl);
  const seen: Stored[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        seen.push({
          key: message.key?.toString() ?? "",
          headers: stringHeaders(message.headers),
          envelope: (await registry.decode(message.value)) as StripeEventEnvelope,
        });
      },
    });
    await waitFor("the topic to hold the acknowledged events", async () => (done(seen) ? true : undefined), 60_000);
    return seen;
  } finally {
    await consumer.disconnect();
  }
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}

describe(`ingest → real Kafka ${stack.versions.kafka} with ${stack.versions.registry}`, () => {
  it("every event id that got a 2xx is in the topic (oracle A), with key, headers and the exact body", async () => {
    const topics = { test: uniqueName("it-ingest-test"), live: uniqueName("it-ingest-live") };
    const { url } = await start(config(stack.kafkaBrokers, topics));
    const batch = events(300, "a");
    const results = await Promise.all(batch.map((e) => deliver(url, e.body)));
    expect(results.map((r) => r.status)).toEqual(batch.map(() => 200));

    const stored = await readTopics(
      stack.kafkaBrokers,
      [topics.test, topics.live],
      (seen) => seen.length >= batch.length,
    );
    const byId = new Map(stored.map((s) => [s.envelope.event_id, s]));
    for (const e of batch) {
      const s = byId.get(e.id);
      expect(s, e.id).toBeDefined();
      expect(s?.key).toBe(`platform:${e.customer}`);
      expect(s?.envelope.payload).toBe(e.body);
      expect(s?.envelope).toMatchObject({ source: "webhook", verified_by: "main", livemode: e.live });
      expect(s?.headers).toMatchObject({ event_id: e.id, source: "webhook", verified_by: "main" });
    }
    expect(JSON.stringify(stored)).not.toContain(SECRET);
  });

  it("answers 503 within the deadline while the broker is down, and Stripe's retries land after it returns", async () => {
    const broker = await startPrivateKafka(process.env);
    try {
      const topics = { test: uniqueName("it-ingest-fault"), live: uniqueName("it-ingest-fault-live") };
      const deadlineMs = 1500;
      const { url } = await start(config(broker.brokers, topics, deadlineMs));
      const before = events(20, "b").filter((e) => !e.live);
      expect((await Promise.all(before.map((e) => deliver(url, e.body)))).every((r) => r.status === 200)).toBe(true);

      await broker.kill();
      const during = events(20, "c").filter((e) => !e.live);
      const refused = await Promise.all(during.map((e) => deliver(url, e.body)));
      for (const r of refused) {
        expect(r.status).toBe(503);
        expect(r.ms).toBeLessThan(deadlineMs + 1500);
      }

      await broker.start();
      // Stripe retries each failed delivery with backoff until it gets a 2xx.
      await waitFor(
        "retried deliveries to be acknowledged",
        async () => {
          const retried = await Promise.all(during.map((e) => deliver(url, e.body)));
          return retried.every((r) => r.status === 200) ? true : undefined;
        },
        90_000,
      );

      const wanted = new Set([...before, ...during].map((e) => e.id));
      const stored = await readTopics(broker.brokers, [topics.test], (seen) =>
        [...wanted].every((id) => seen.some((s) => s.envelope.event_id === id)),
      );
      expect(new Set(stored.map((s) => s.envelope.event_id))).toEqual(wanted);
    } finally {
      await broker.dispose();
    }
  }, 240_000);

  it("on stop, finishes the appends in flight; what got a 200 is in the topic and the rest got 503 or no connection", async () => {
    const topics = { test: uniqueName("it-ingest-stop"), live: uniqueName("it-ingest-stop-live") };
    const { ingest, url } = await start(config(stack.kafkaBrokers, topics));
    const batch = events(200, "s").filter((e) => !e.live);
    const pending = batch.map((e) => deliver(url, e.body).catch(() => ({ status: 0, ms: 0 })));
    await waitFor("appends in flight", async () => (ingest.eventLog.inFlight > 0 ? true : undefined), 10_000);
    const inFlightAtStop = ingest.eventLog.inFlight;
    await ingest.stop();
    const results = await Promise.all(pending);

    const acked = batch.filter((_, i) => results[i]?.status === 200).map((e) => e.id);
    expect(acked.length).toBeGreaterThanOrEqual(inFlightAtStop);
    expect(results.every((r) => [200, 503, 0].includes(r.status))).toBe(true);
    const stored = await readTopics(stack.kafkaBrokers, [topics.test], (seen) =>
      acked.every((id) => seen.some((s) => s.envelope.event_id === id)),
    );
    const storedIds = new Set(stored.map((s) => s.envelope.event_id));
    for (const id of acked) expect(storedIds.has(id), id).toBe(true);
  });

  it("serves metrics (with process_*/nodejs_* defaults) and health on the internal port, none on the webhook port", async () => {
    const topics = { test: uniqueName("it-ingest-ports"), live: uniqueName("it-ingest-ports-live") };
    const { url, internal } = await start(config(stack.kafkaBrokers, topics));
    const publicBase = url.slice(0, -WEBHOOK_PATH.length);
    for (const path of ["/metrics", "/healthz", "/readyz"]) {
      expect((await fetch(`${publicBase}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${internal}/healthz`)).status).toBe(200);
    expect((await fetch(`${internal}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${internal}/metrics`)).text();
    for (const name of [
      "ingest_webhooks_received_total",
      "ingest_webhook_body_bytes_held",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(text).toContain(name);
    }
  });

  it("refuses appends beyond MAX_IN_FLIGHT_BYTES with 503 overloaded; every 200 is stored", async () => {
    const topics = { test: uniqueName("it-ingest-bytes"), live: uniqueName("it-ingest-bytes-live") };
    // One record in flight at a time (a record alone always fits, so nothing is refused forever).
    const { url } = await start(config(stack.kafkaBrokers, topics, 5000, { MAX_IN_FLIGHT_BYTES: "1" }));
    const batch = events(40, "m").filter((e) => !e.live);
    const results = await Promise.all(batch.map((e) => deliver(url, e.body)));
    const statuses = results.map((r) => r.status);
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const acked = batch.filter((_, i) => statuses[i] === 200).map((e) => e.id);
    const stored = await readTopics(stack.kafkaBrokers, [topics.test], (seen) =>
      acked.every((id) => seen.some((x) => x.envelope.event_id === id)),
    );
    expect(stored.map((x) => x.envelope.event_id).sort()).toEqual([...acked].sort());
  });

  it("provisions its topics so that acks=-1 means min.insync.replicas acknowledged it", async () => {
    const topics = { test: uniqueName("it-ingest-isr"), live: uniqueName("it-ingest-isr-live") };
    await start(config(stack.kafkaBrokers, topics));
    const admin = createKafka({ brokers: stack.kafkaBrokers, clientId: "it-isr", logger }).admin();
    await admin.connect();
    try {
      const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topics.test }] });
      const value = (name: string) => res.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
      expect(value("min.insync.replicas")).toBe("1"); // min(2, RF 1) on the one-broker test stack
      expect(value("unclean.leader.election.enable")).toBe("false");
    } finally {
      await admin.disconnect();
    }
  });
});
