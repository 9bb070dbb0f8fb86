import { env, loadConfig, stackEnvSchema } from "@sbs/shared";
import { z } from "zod";
import { type TopicConfig, topicConfigSchema } from "./domain/routing.ts";
import { type SignatureConfig, signatureConfigSchema } from "./domain/signature.ts";

/**
 * `STRIPE_WEBHOOK_SECRETS`: comma-separated `name=whsec_…` pairs, or bare secrets (named
 * secret1, secret2, …). Names travel in the `verified_by` header; secrets never leave memory.
 */
const secretsList = z
  .string({ error: "required: Stripe webhook signing secret(s), e.g. main=whsec_… or whsec_…[,whsec_…]" })
  .transform((raw) =>
    raw
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part, i) => {
        const eq = part.indexOf("=");
        return eq > 0 && !part.startsWith("whsec_")
          ? { name: part.slice(0, eq), secret: part.slice(eq + 1) }
          : { name: `secret${i + 1}`, secret: part };
      }),
  );

const schema = stackEnvSchema
  .extend({
    HTTP_HOST: z.string().default("0.0.0.0"),
    HTTP_PORT: env.port(8080),
    STRIPE_WEBHOOK_SECRETS: secretsList,
    // 0 would disable the replay check in stripe-node's semantics; refused here.
    STRIPE_WEBHOOK_TOLERANCE_S: z.coerce
      .number({ error: "must be a number of seconds" })
      .int()
      .positive({ error: "must be > 0 (0 would disable the replay window)" })
      .default(300),
    // Stripe's largest events (invoices with many lines) stay well below 1 MiB.
    WEBHOOK_MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
    KAFKA_TOPIC_TEST: z.string().default("stripe.events.test"),
    KAFKA_TOPIC_LIVE: z.string().default("stripe.events.live"),
    // Partitions bound the projector's parallelism; never changed after creation (keys would move).
    KAFKA_TOPIC_PARTITIONS: env.positiveInt(12),
    KAFKA_REPLICATION_FACTOR: env.positiveInt(1),
    // Stripe waits ~10 s for an answer; leave room to say 503 before it gives up on us.
    PRODUCE_TIMEOUT_MS: env.positiveInt(5000),
    // Bounds memory when the broker is slow: ~5 KB per event → ~25 MB at the default.
    MAX_IN_FLIGHT: env.positiveInt(5000),
    PRODUCE_MAX_BATCH: env.positiveInt(1000),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(15_000),
    // One event loop saturates one core; set to the number of cores for high-volume endpoints.
    INGEST_WORKERS: env.positiveInt(1),
    // With INGEST_WORKERS > 1, metrics summed over all workers are served here.
    METRICS_PORT: env.port(9464),
  })
  .superRefine((e, ctx) => {
    const signature = signatureConfigSchema.safeParse({
      secrets: e.STRIPE_WEBHOOK_SECRETS,
      toleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_S,
    });
    for (const issue of signature.error?.issues ?? []) {
      ctx.addIssue({ code: "custom", path: ["STRIPE_WEBHOOK_SECRETS"], message: issue.message });
    }
    const topics = topicConfigSchema.safeParse({ testTopic: e.KAFKA_TOPIC_TEST, liveTopic: e.KAFKA_TOPIC_LIVE });
    for (const issue of topics.error?.issues ?? []) {
      ctx.addIssue({
        code: "custom",
        path: [issue.path[0] === "testTopic" ? "KAFKA_TOPIC_TEST" : "KAFKA_TOPIC_LIVE"],
        message: issue.message,
      });
    }
  })
  .transform((e) => ({
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT, maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES },
    signature: { secrets: e.STRIPE_WEBHOOK_SECRETS, toleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_S } as SignatureConfig,
    topics: { testTopic: e.KAFKA_TOPIC_TEST, liveTopic: e.KAFKA_TOPIC_LIVE } as TopicConfig,
    kafka: {
      brokers: e.KAFKA_BROKERS,
      partitions: e.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: e.KAFKA_REPLICATION_FACTOR,
      produceTimeoutMs: e.PRODUCE_TIMEOUT_MS,
      maxInFlight: e.MAX_IN_FLIGHT,
      maxBatch: e.PRODUCE_MAX_BATCH,
    },
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    cluster: { workers: e.INGEST_WORKERS, metricsPort: e.METRICS_PORT },
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  }));

export type IngestConfig = z.output<typeof schema>;

/** Ingest needs no database; DATABASE_URL is accepted (shared env) but not required. */
export function loadIngestConfig(environment: Record<string, string | undefined>): IngestConfig {
  return loadConfig("ingest", schema, { DATABASE_URL: "postgres://unused/unused", ...environment });
}
