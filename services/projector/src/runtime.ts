import { fileURLToPath } from "node:url";
import {
  AppError,
  createKafka,
  createPool,
  createSchemaRegistry,
  ensureTopics,
  type Logger,
  migrate,
  partitionCount,
} from "@sbs/shared";
import { type Admin, type Kafka, type KafkaConfig, Partitioners, type Producer } from "kafkajs";
import type { Pool } from "pg";
import type { ProjectorConfig } from "./config.ts";
import { createBatchProcessor } from "./consumer/batch-processor.ts";
import { createDeadLetterPublisher } from "./consumer/dead-letter-publisher.ts";
import { createRecordDecoder } from "./consumer/decode-record.ts";
import { createMailboxDrain } from "./consumer/mailbox-drain.ts";
import type { Watermarks } from "./consumer/position-check.ts";
import { createErasureList } from "./erasure/erasure-list.ts";
import type { ProjectorMetrics } from "./metrics.ts";
import { createFactCaches } from "./projection/fact-cache.ts";
import { createSlotCounts } from "./store/slots.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export interface RuntimeOptions {
  readonly logger: Logger;
  readonly kafkaOverrides?: Partial<KafkaConfig>;
}

/**
 * The connections the live projector and the rebuild share: Postgres pool, Kafka client,
 * registry decoder, DLQ producer. Built without connecting; `open` connects and provisions.
 */
export function createRuntime(config: ProjectorConfig, opts: RuntimeOptions, clientId: string) {
  const pool: Pool = createPool({
    url: config.database.url,
    ...(config.database.schema ? { schema: config.database.schema } : {}),
    max: config.database.poolSize,
    applicationName: clientId,
  });
  // An idle client that loses its connection must not crash the process: the next query retries.
  pool.on("error", (error) => opts.logger.warn({ err: error }, "idle Postgres client failed"));
  const kafka: Kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId,
    logger: opts.logger,
    ...(opts.kafkaOverrides ? { overrides: opts.kafkaOverrides } : {}),
  });
  // Dead letters keep their origin's key; the Java client's partitioner places them as any other producer would.
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const registry = createSchemaRegistry(config.schemaRegistryUrl);
  // Consulted on every decoded event: an erased customer never comes back through a replay.
  const erasures = createErasureList(pool, { refreshMs: config.superviseIntervalMs, logger: opts.logger });
  const dlqPartitions = new Map<string, number>();
  let admin: Admin | undefined;
  /**
   * A topic with records needs the registry that encoded them: a wrong SCHEMA_REGISTRY_URL (or a
   * fresh registry) is refused at start with what to check, rather than found record by record.
   */
  const checkRegistryKnowsEnvelope = async (kafkaAdmin: Admin) => {
    const offsets = await kafkaAdmin.fetchTopicOffsets(config.kafka.topic);
    const records = offsets.reduce((sum, o) => sum + (BigInt(o.high) - BigInt(o.low)), 0n);
    if (records === 0n) return;
    try {
      await registry.getLatestSchemaId(config.schemaSubject);
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      throw new AppError(
        status === 404 ? "schema_subject_unknown" : "schema_registry_unavailable",
        status === 404
          ? `the schema registry at ${config.schemaRegistryUrl} has no subject "${config.schemaSubject}", but ${config.kafka.topic} holds ${records} records: is SCHEMA_REGISTRY_URL the registry ingest writes to?`
          : `the schema registry at ${config.schemaRegistryUrl} did not answer: ${(cause as Error).message}`,
        { retriable: status !== 404, cause },
      );
    }
  };
  const logStartOffset = async (topic: string, partition: number): Promise<bigint> => {
    if (admin === undefined) throw new Error("runtime is not open");
    const offsets = await admin.fetchTopicOffsets(topic);
    const low = offsets.find((o) => o.partition === partition)?.low;
    if (low === undefined) throw new Error(`${topic} has no partition ${partition}`);
    return BigInt(low);
  };

  // The slots' in-memory facts, shared by the batch processor and the mailbox drain of this process.
  const factCaches = createFactCaches(config.factCacheCustomers);
  // A new generation's slots are the source topic's partition count when it is first written.
  const slotCounts = createSlotCounts(pool, async () => {
    if (admin === undefined) throw new Error("runtime is not open");
    return partitionCount(admin, config.kafka.topic);
  });

  const deadLetters = createDeadLetterPublisher({
    kafka,
    producer,
    pool,
    dlqTopic: () => config.kafka.dlqTopic,
    dlqPartitions: async (topic) => dlqPartitions.get(topic) ?? 1,
    logger: opts.logger,
  });

  return {
    pool,
    kafka,
    producer,
    deadLetters,
    erasures,
    decode: createRecordDecoder(registry, config.schemaRegistryUrl, erasures),
    /** The first offset the broker still has for a partition. */
    logStartOffset,
    /** Log start and high-water mark of every partition of a topic. */
    async watermarks(topic: string): Promise<Map<number, Watermarks>> {
      if (admin === undefined) throw new Error("runtime is not open");
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
    },
    /** Migrates (when configured), connects the producer and creates the DLQ topic beside the source. */
    async open(): Promise<void> {
      if (config.database.migrateOnStart) {
        await migrate({
          url: config.database.url,
          dir: MIGRATIONS_DIR,
          ...(config.database.schema ? { schema: config.database.schema } : {}),
          logger: opts.logger,
        });
      }
      await erasures.refresh();
      erasures.start();
      admin = kafka.admin();
      await admin.connect();
      const partitions = await partitionCount(admin, config.kafka.topic);
      await ensureTopics(
        admin,
        [
          {
            topic: config.kafka.dlqTopic,
            numPartitions: partitions,
            replicationFactor: config.kafka.replicationFactor,
            infiniteRetention: true,
          },
        ],
        opts.logger,
      );
      dlqPartitions.set(config.kafka.dlqTopic, await partitionCount(admin, config.kafka.dlqTopic));
      await checkRegistryKnowsEnvelope(admin);
      await producer.connect();
    },
    processor(metrics: ProjectorMetrics, generation: { current: number }, followPointer: boolean) {
      return createBatchProcessor({
        pool,
        decode: createRecordDecoder(registry, config.schemaRegistryUrl, erasures),
        deadLetters,
        metrics,
        logger: opts.logger,
        generation: () => generation.current,
        followPointer,
        attempts: config.deadLetterAttempts,
        retry: config.retry,
        readModel: config.readModel,
        synchronousCommit: config.database.synchronousCommit,
        logStartOffset,
        slots: slotCounts,
        facts: factCaches,
      });
    },
    /** The supervisor's mailbox drain for the projector or a rebuild (consumer/mailbox-drain.ts). */
    mailboxDrain(metrics: ProjectorMetrics) {
      return createMailboxDrain({
        pool,
        metrics,
        logger: opts.logger,
        readModel: config.readModel,
        synchronousCommit: config.database.synchronousCommit,
        slots: slotCounts,
        facts: factCaches,
      });
    },
    async close(): Promise<void> {
      erasures.stop();
      await producer.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

export type Runtime = ReturnType<typeof createRuntime>;
