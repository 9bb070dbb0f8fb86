import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type FakeBrevo, startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { freePort } from "@sbs/infra";
import { createLogger } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName } from "@sbs/shared/testing";
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
 * The whole pipeline for an end-to-end test: ingest, projector and brevo-sink as three processes
 * on the real Kafka, registry and PostgreSQL (an isolated schema, a topic of its own), with the
 * fake Brevo. What the pipeline e2e test and the dashboard's browser test both start.
 */
export interface PipelineWorld {
  readonly webhookUrl: string;
  readonly secret: string;
  readonly topic: string;
  readonly schema: string;
  readonly fake: FakeBrevo;
  /** The projector's environment (rebuild commands reuse it). */
  readonly projectorEnv: Record<string, string | undefined>;
  /** Each service's /metrics. */
  readonly metrics: { readonly ingest: string; readonly projector: string; readonly sink: string };
  /** DATABASE_URL whose search_path is the world's schema. */
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

export async function startPipelineWorld(prefix: string): Promise<PipelineWorld> {
  const stack = testStack();
  const secret = `whsec_${prefix}_0123456789abcdef`;
  const topic = uniqueName(`${prefix}-stripe`);
  const logs = mkdtempSync(join(tmpdir(), `sbs-${prefix}-`));
  const children = new Map<ServiceName, ChildProcess>();
  const schema = await isolatedSchema(stack.databaseUrl);
  const fake = await startFakeBrevo({});
  const spawnService = (name: ServiceName, env: Record<string, string | undefined>) => {
    const child = startService(name, env, join(logs, `${name}.log`));
    children.set(name, child);
    child.once("exit", (code) => {
      if (code !== 0 && code !== null)
        console.error(`${name} exited ${code}:\n${lastLines(join(logs, `${name}.log`), 30)}`);
    });
  };
  const [ingestPort, ingestMetricsPort, projectorPort, sinkPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
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
    STRIPE_WEBHOOK_SECRETS: `${prefix}=${secret}`,
    KAFKA_TOPIC_TEST: topic,
    KAFKA_TOPIC_LIVE: `${topic}.live`,
    KAFKA_TOPIC_PARTITIONS: "3",
  });
  if (!(await waitForOk(`http://127.0.0.1:${ingestMetricsPort}/readyz`, 60_000)))
    throw new Error(`ingest did not become ready:\n${lastLines(join(logs, "ingest.log"), 30)}`);
  // As in production: the owner migrates, the projector and the sink run as DML-only roles.
  await migrateAll(stack.databaseUrl, schema.schema, createLogger({ service: `${prefix}-migrate`, level: "silent" }));
  const roles = serviceRoleEnv(stack);
  const projectorEnv = {
    ...common,
    ...roles.projector,
    HTTP_PORT: String(projectorPort),
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName(`${prefix}-projector`),
  };
  spawnService("projector", projectorEnv);
  spawnService("brevo-sink", {
    ...common,
    ...roles.sink,
    BREVO_API_KEY: fake.apiKey,
    BREVO_BASE_URL: fake.url,
    SINK_CONFIG_FILE: join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"),
    SINK_EVENTS_TOPIC: topic,
    SINK_EVENTS_GROUP_ID: uniqueName(`${prefix}-sink-events`),
    SINK_INTERVAL_MS: "500",
    HTTP_PORT: String(sinkPort),
  });
  const url = new URL(stack.databaseUrl);
  url.searchParams.set("options", `-c search_path=${schema.schema}`);
  return {
    webhookUrl: `http://127.0.0.1:${ingestPort}/webhooks/stripe`,
    secret,
    topic,
    schema: schema.schema,
    fake,
    projectorEnv,
    metrics: {
      ingest: `http://127.0.0.1:${ingestMetricsPort}/metrics`,
      projector: `http://127.0.0.1:${projectorPort}/metrics`,
      sink: `http://127.0.0.1:${sinkPort}/metrics`,
    },
    databaseUrl: url.toString(),
    async stop() {
      await Promise.all([...children.values()].map((c) => stopService(c)));
      await fake.close();
      await schema.drop();
    },
  };
}
