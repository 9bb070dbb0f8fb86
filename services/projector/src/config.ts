import { env, loadConfig, stackEnvSchema } from "@sbs/shared";
import { z } from "zod";
import {
  CHARTMOGUL_MRR_RULES,
  type MrrRules,
  PADDLE_MRR_RULES,
  PROFITWELL_MRR_RULES,
  STRIPE_MRR_RULES,
} from "./domain/index.ts";

const MRR_RULES: Readonly<Record<string, MrrRules>> = {
  stripe: STRIPE_MRR_RULES,
  chartmogul: CHARTMOGUL_MRR_RULES,
  paddle: PADDLE_MRR_RULES,
  profitwell: PROFITWELL_MRR_RULES,
};

const schema = stackEnvSchema
  .extend({
    // One projector per topic: test and live events must never meet in one projection.
    KAFKA_TOPIC: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be a Kafka topic name")
      .default("stripe.events.test"),
    // Defaults to `<KAFKA_TOPIC>.dlq`.
    KAFKA_DLQ_TOPIC: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be a Kafka topic name")
      .optional(),
    KAFKA_GROUP_ID: z.string().min(1).default("projector"),
    // The registry subject ingest registers the envelope under; checked at start when the topic has records.
    SCHEMA_SUBJECT: z.string().min(1).default("sbs.ingest.StripeEventEnvelope"),
    // How often a running projector re-checks the generation pointer and its halted partitions (cleared by accept-gap).
    SUPERVISE_INTERVAL_MS: env.positiveInt(5_000),
    // The in-memory rebuild gives up past this heap size and continues batch by batch (bounded memory).
    REBUILD_MEMORY_BUDGET_MB: env.positiveInt(4096),
    KAFKA_REPLICATION_FACTOR: env.positiveInt(1),
    // Partitions processed at once; their transactions commit concurrently (each holds only its own
    // partition's and slot's locks), so each needs its own Postgres connection.
    PARTITIONS_CONCURRENCY: env.positiveInt(6),
    // Bigger fetches make bigger batches while catching up: fewer transactions, and a customer hit
    // several times in a batch is derived once (bench: 8 → 24 MiB took 10.2k to 11.8k events/s).
    FETCH_MAX_BYTES_PER_PARTITION: env.positiveInt(24 * 1024 * 1024),
    KAFKA_SESSION_TIMEOUT_MS: env.positiveInt(30_000),
    // Customers whose facts this instance keeps in memory across batches, split over its slots
    // (README "Owned in-memory state"). Off by default: in the bench (1M events, 100k customers)
    // 100k held took Postgres CPU from 267 to 228 s but the rate only from 3,711 to 4,041/s, within
    // run-to-run noise, and peak RSS from 1,057 to 1,509 MiB.
    FACT_CACHE_CUSTOMERS: z.coerce
      .number({ error: "must be a number" })
      .int()
      .nonnegative({ error: "must be 0 (off) or a positive integer" })
      .default(0),
    // Postgres schema of the projection tables (search_path); default the connection's.
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, "must be a plain lower-case identifier")
      .optional(),
    // Default: one connection per partition in flight, plus two for the supervisor's mailbox drain
    // and the erasure list's refresh (a smaller pool makes batches queue for a connection).
    DATABASE_POOL_SIZE: env.optionalPositiveInt(),
    MIGRATE_ON_START: env.bool(true),
    // off: a crash may lose the last commits, which are then replayed from Kafka (state and offset go together).
    DATABASE_SYNCHRONOUS_COMMIT: env.bool(false),
    // Attempts for a deterministic failure (bad bytes, invalid event, reducer exception) before it is dead-lettered.
    DEAD_LETTER_ATTEMPTS: env.positiveInt(3),
    RETRY_BASE_MS: env.positiveInt(200),
    RETRY_MAX_MS: env.positiveInt(30_000),
    MRR_RULES: z.enum(["stripe", "chartmogul", "paddle", "profitwell"]).default("stripe"),
    // Loopback unless told otherwise (metrics are internal); production sets the private address.
    HTTP_HOST: z.string().default("127.0.0.1"),
    HTTP_PORT: env.port(9465),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(20_000),
  })
  .transform((e) => ({
    kafka: {
      brokers: e.KAFKA_BROKERS,
      topic: e.KAFKA_TOPIC,
      dlqTopic: e.KAFKA_DLQ_TOPIC ?? `${e.KAFKA_TOPIC}.dlq`,
      groupId: e.KAFKA_GROUP_ID,
      replicationFactor: e.KAFKA_REPLICATION_FACTOR,
      partitionsConcurrency: e.PARTITIONS_CONCURRENCY,
      maxBytesPerPartition: e.FETCH_MAX_BYTES_PER_PARTITION,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
    },
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    schemaSubject: e.SCHEMA_SUBJECT,
    superviseIntervalMs: e.SUPERVISE_INTERVAL_MS,
    rebuildMemoryBudgetBytes: e.REBUILD_MEMORY_BUDGET_MB * 1024 * 1024,
    database: {
      url: e.DATABASE_URL,
      ...(e.DATABASE_SCHEMA ? { schema: e.DATABASE_SCHEMA } : {}),
      poolSize: e.DATABASE_POOL_SIZE ?? e.PARTITIONS_CONCURRENCY + 2,
      migrateOnStart: e.MIGRATE_ON_START,
      synchronousCommit: e.DATABASE_SYNCHRONOUS_COMMIT,
    },
    factCacheCustomers: e.FACT_CACHE_CUSTOMERS,
    deadLetterAttempts: e.DEAD_LETTER_ATTEMPTS,
    retry: { baseDelayMs: e.RETRY_BASE_MS, maxDelayMs: e.RETRY_MAX_MS },
    readModel: { mrr: MRR_RULES[e.MRR_RULES] ?? STRIPE_MRR_RULES },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  }));

export type ProjectorConfig = z.output<typeof schema>;

export function loadProjectorConfig(environment: Record<string, string | undefined>): ProjectorConfig {
  return loadConfig("projector", schema, environment);
}
