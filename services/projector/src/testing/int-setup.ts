import { createLogger, createPool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName, waitFor } from "@sbs/shared/testing";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import { loadProjectorConfig, type ProjectorConfig } from "../config.ts";
import { mailboxBacklog } from "../store/slots.ts";

export const silent = createLogger({ service: "projector-int", level: "silent" });

/** One test file's world: its own Postgres schema, topic and consumer group on the shared stack. */
export async function isolatedProjectorEnv(name: string) {
  const stack = testStack();
  const schema = await isolatedSchema(stack.databaseUrl);
  const topic = uniqueName(`proj-${name}`);
  const env: Record<string, string> = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_SCHEMA: schema.schema,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName(`proj-${name}-group`),
    HTTP_HOST: "127.0.0.1",
    HTTP_PORT: "0",
    LOG_LEVEL: "silent",
    RETRY_BASE_MS: "50",
    RETRY_MAX_MS: "1000",
    KAFKA_SESSION_TIMEOUT_MS: "10000",
    // Off by default; on here, so the kill -9, Postgres-crash and multi-instance tests prove its fence.
    FACT_CACHE_CUSTOMERS: "100000",
  };
  const config: ProjectorConfig = loadProjectorConfig(env);
  const pool: Pool = createPool({ url: stack.databaseUrl, schema: schema.schema, applicationName: "projector-int" });
  return {
    stack,
    env,
    config,
    topic,
    pool,
    async dispose() {
      await pool.end();
      await schema.drop();
    },
  };
}

/** Waits until the generation's stored offsets reach `records` in total (one topic, offsets from 0). */
export async function waitForProcessed(
  pool: Pool,
  generation: number,
  topic: string,
  records: number,
  timeoutMs = 60_000,
) {
  await waitFor(
    `generation ${generation} to process ${records} records of ${topic}`,
    async () => {
      const { rows } = await pool
        .query<{ next: string }>(
          "SELECT COALESCE(sum(next_offset), 0) AS next FROM processed_offset WHERE generation = $1 AND topic = $2",
          [generation, topic],
        )
        .catch(() => ({ rows: [{ next: "0" }] }));
      return Number(rows[0]?.next ?? 0) >= records ? true : undefined;
    },
    timeoutMs,
  );
  await waitForMailboxes(pool, generation, timeoutMs);
}

/** Cross-partition work still in the slots' mailboxes is part of "processed" (mailboxBacklog). */
export async function waitForMailboxes(pool: Pool, generation: number, timeoutMs = 60_000) {
  await waitFor(
    `generation ${generation}'s mailboxes to drain`,
    async () => ((await mailboxBacklog(pool, generation).catch(() => 1)) === 0 ? true : undefined),
    timeoutMs,
  );
}

/**
 * Records the topic holds (sum of its partitions' end offsets). Wait for this, not for the number
 * of events produced: a producer retry under load may append an event twice (the fold does not
 * mind; a count of produced events would then be reached before every record is processed).
 */
export async function recordsInTopic(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}
