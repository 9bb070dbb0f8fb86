import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSinkConfigFile } from "@sbs/brevo-sink/config-file";
import { type FakeBrevo, startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { brevoDiffersFromDesired, eventsSentTwice } from "@sbs/brevo-sink/testing/oracle";
import { freePort } from "@sbs/infra";
import { commands as projectorCommands } from "@sbs/projector/commands";
import { decodeEvent, foldAll, readModels } from "@sbs/projector/domain";
import { createLogger } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName, waitFor, withClient } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver } from "../demo/deliver.ts";
import { generateHistory, type StripeEventObject } from "../demo/history.ts";
import { migrateAll } from "../migrate/migrate-all.ts";
import {
  lastLines,
  REPO_ROOT,
  type ServiceName,
  serviceRoleEnv,
  startService,
  stopService,
  waitForOk,
} from "../start/services.ts";

/**
 * The whole pipeline as it runs in production: ingest, projector and brevo-sink as three
 * processes on the real Kafka, registry and PostgreSQL, with the fake Brevo. Signed events go in at
 * the webhook the way Stripe sends them (out of order, duplicated); Brevo's state must come out
 * equal to the desired state of every customer, where "desired" is computed independently from the
 * delivered events with the pure fold (oracle C over oracle D). Replaying the topic from offset 0
 * (a projector rebuild) must then change nothing in Brevo.
 */

const stack = testStack();
const SECRET = "whsec_e2e_0123456789abcdef";
const topic = uniqueName("e2e-stripe");
const logs = mkdtempSync(join(tmpdir(), "sbs-e2e-"));
const children = new Map<ServiceName, ChildProcess>();
let fake: FakeBrevo;
let schema: Awaited<ReturnType<typeof isolatedSchema>>;
let projectorEnv: Record<string, string | undefined>;
let webhookUrl = "";
let events: StripeEventObject[] = [];

function spawnService(name: ServiceName, env: Record<string, string | undefined>) {
  const child = startService(name, env, join(logs, `${name}.log`));
  children.set(name, child);
  child.once("exit", (code) => {
    if (code !== 0 && code !== null)
      console.error(`${name} exited ${code}:\n${lastLines(join(logs, `${name}.log`), 30)}`);
  });
}

beforeAll(async () => {
  schema = await isolatedSchema(stack.databaseUrl);
  fake = await startFakeBrevo({});
  const [ingestPort, ingestMetricsPort, projectorPort] = [await freePort(), await freePort(), await freePort()];
  const common = {
    ...process.env,
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_SCHEMA: schema.schema,
    LOG_LEVEL: "warn",
    HTTP_HOST: "127.0.0.1",
  };
  spawnService("ingest", {
    ...common,
    HTTP_PORT: String(ingestPort),
    METRICS_PORT: String(ingestMetricsPort),
    STRIPE_WEBHOOK_SECRETS: `e2e=${SECRET}`,
    KAFKA_TOPIC_TEST: topic,
    KAFKA_TOPIC_LIVE: `${topic}.live`,
    KAFKA_TOPIC_PARTITIONS: "3",
  });
  webhookUrl = `http://127.0.0.1:${ingestPort}/webhooks/stripe`;
  expect(await waitForOk(`http://127.0.0.1:${ingestMetricsPort}/readyz`, 60_000)).toBe(true);

  // As in production: the owner migrates, the projector and the sink run as DML-only roles.
  await migrateAll(stack.databaseUrl, schema.schema, createLogger({ service: "e2e-migrate", level: "silent" }));
  const roles = serviceRoleEnv(stack);
  projectorEnv = {
    ...common,
    ...roles.projector,
    HTTP_PORT: String(projectorPort),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName("e2e-projector"),
  };
  spawnService("projector", projectorEnv);
  spawnService("brevo-sink", {
    ...common,
    ...roles.sink,
    BREVO_API_KEY: fake.apiKey,
    BREVO_BASE_URL: fake.url,
    SINK_CONFIG_FILE: join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"),
    SINK_EVENTS_TOPIC: topic,
    SINK_EVENTS_GROUP_ID: uniqueName("e2e-sink-events"),
    SINK_INTERVAL_MS: "500",
    HTTP_PORT: "0", // its internal port (/healthz, /metrics) on any free port
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([...children.values()].map((c) => stopService(c)));
  await fake?.close();
  await schema?.drop();
});

async function projectedCustomers(): Promise<number> {
  return withClient(stack.databaseUrl, async (c) => {
    const { rows } = await c.query(`SELECT count(*) AS n FROM ${schema.schema}.customer_metrics`);
    return Number(rows[0]?.n ?? 0);
  }).catch(() => -1);
}

describe(`the pipeline end to end (Kafka ${stack.versions.kafka}, ${stack.versions.registry}, PostgreSQL ${stack.versions.postgres})`, () => {
  it("turns signed webhooks into Brevo contacts equal to the desired state of every customer", async () => {
    events = generateHistory({
      customers: 60,
      days: 150,
      seed: 42,
      start: Math.floor(Date.now() / 1000) - 150 * 86_400,
    });
    const report = await deliver(events, {
      url: webhookUrl,
      secret: SECRET,
      concurrency: 8,
      duplicateRate: 0.05,
      reorderWindow: 20,
      maxAttempts: 8,
      seed: 42,
    });
    expect(report.failed).toEqual([]);

    // Ground truth from the delivered events alone, not from anything the pipeline wrote.
    const decoded = events.map((e) => decodeEvent(e)).flatMap((r) => (r.ok ? [r.event] : []));
    expect(decoded).toHaveLength(events.length);
    const expected = readModels(foldAll(decoded));
    const config = await loadSinkConfigFile(join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"));

    await waitFor(
      "the projector to project every customer",
      async () => ((await projectedCustomers()) === expected.length ? true : undefined),
      90_000,
    );
    let problems: string[] = [];
    await waitFor(
      "Brevo to equal the desired state",
      async () => {
        problems = brevoDiffersFromDesired(fake, config, expected);
        return problems.length === 0 ? true : undefined;
      },
      90_000,
    ).catch(() => {
      throw new Error(`Brevo differs from the desired state:\n${problems.slice(0, 20).join("\n")}`);
    });
    expect(eventsSentTwice(fake)).toEqual([]);
    expect(fake.contacts.size).toBeGreaterThan(0);
  }, 240_000);

  it("changes nothing in Brevo when the topic is replayed from offset 0", async () => {
    const writes = () => fake.log.filter((e) => e.method !== "GET").length;
    const before = writes();
    const out: string[] = [];
    const code = await projectorCommands.rebuild.run([], {
      env: projectorEnv,
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => out.push(t) },
    });
    expect(code, out.join("")).toBe(0);
    // Several sink passes (every 500 ms) over the rebuilt generation.
    await new Promise((r) => setTimeout(r, 5000));
    expect(writes()).toBe(before);
    expect(eventsSentTwice(fake)).toEqual([]);
  }, 180_000);
});
