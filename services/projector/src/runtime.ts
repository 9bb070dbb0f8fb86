import { fileURLToPath } from "node:url";
import {
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
import type { ProjectorMetrics } from "./metrics.ts";

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
  const dlqPartitions = new Map<string, number>();
  let admin: Admin | undefined;

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
    decode: createRecordDecoder(registry),
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
      await producer.connect();
    },
    processor(metrics: ProjectorMetrics, generation: { current: number }, followPointer: boolean) {
      return createBatchProcessor({
        pool,
        decode: createRecordDecoder(registry),
        deadLetters,
        metrics,
        logger: opts.logger,
        generation: () => generation.current,
        followPointer,
        attempts: config.deadLetterAttempts,
        retry: config.retry,
        readModel: config.readModel,
        synchronousCommit: config.database.synchronousCommit,
      });
    },
    async close(): Promise<void> {
      await producer.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

export type Runtime = ReturnType<typeof createRuntime>;
