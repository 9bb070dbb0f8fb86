import { env, loadConfig, stackEnvSchema } from "@sbs/shared";
import { z } from "zod";
import { type TopicConfig, topicConfigSchema } from "./domain/routing.ts";
import { type SignatureConfig, signatureConfigSchema } from "./domain/signature.ts";
import type { HttpLimits } from "./http/server.ts";

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

/**
 * The webhook server's limits against slow, large or numerous clients (see README, "Under attack").
 */
const httpLimitsEnv = {
  // Stripe's largest events (invoices with many lines) stay well below 1 MiB.
  WEBHOOK_MAX_BODY_BYTES: env.positiveInt(1024 * 1024),
  // Slow-body defence. Stripe sends a few KB in well under a second; a client that takes longer
  // than these, or trickles its body, is holding memory, not delivering an event.
  HTTP_REQUEST_TIMEOUT_MS: env.positiveInt(20_000),
  HTTP_HEADERS_TIMEOUT_MS: env.positiveInt(10_000),
  HTTP_MAX_CONNECTIONS: env.positiveInt(2048),
  HTTP_MIN_BODY_BYTES_PER_S: env.positiveInt(1024),
  HTTP_BODY_RATE_WINDOW_MS: env.positiveInt(5000),
  // Webhook body bytes held at once (buffering or waiting for the broker), over all requests.
  WEBHOOK_BODY_BUDGET_BYTES: env.positiveInt(64 * 1024 * 1024),
  // Bodies above this are "large" and may hold at most half the budget together.
  WEBHOOK_LARGE_BODY_BYTES: env.positiveInt(64 * 1024),
};

function toHttpLimits(e: z.output<z.ZodObject<typeof httpLimitsEnv>>): HttpLimits {
  return {
    maxBodyBytes: e.WEBHOOK_MAX_BODY_BYTES,
    bodyBudgetBytes: e.WEBHOOK_BODY_BUDGET_BYTES,
    largeBodyBytes: e.WEBHOOK_LARGE_BODY_BYTES,
    minBodyBytesPerSecond: e.HTTP_MIN_BODY_BYTES_PER_S,
    rateWindowMs: e.HTTP_BODY_RATE_WINDOW_MS,
    requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
    headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
    maxConnections: e.HTTP_MAX_CONNECTIONS,
  };
}

/** The limits alone (benchmarks and the probe build the webhook server without the rest). */
export function loadHttpLimits(environment: Record<string, string | undefined>): HttpLimits {
  return toHttpLimits(loadConfig("ingest", z.object(httpLimitsEnv), environment));
}

const schema = stackEnvSchema
  .extend({
    // Loopback unless told otherwise; production binds the webhook port with HTTP_HOST=0.0.0.0.
    HTTP_HOST: z.string().default("127.0.0.1"),
    HTTP_PORT: env.port(8080),
    // /metrics, /healthz, /readyz: internal, never on the public webhook port.
    METRICS_HOST: z.string().default("127.0.0.1"),
    ...httpLimitsEnv,
    STRIPE_WEBHOOK_SECRETS: secretsList,
    // 0 would disable the replay check in stripe-node's semantics; refused here.
    STRIPE_WEBHOOK_TOLERANCE_S: z.coerce
      .number({ error: "must be a number of seconds" })
      .int()
      .positive({ error: "must be > 0 (0 would disable the replay window)" })
      .default(300),
    KAFKA_TOPIC_TEST: z.string().default("stripe.events.test"),
    KAFKA_TOPIC_LIVE: z.string().default("stripe.events.live"),
    // Partitions bound the projector's parallelism; never changed after creation (keys would move).
    KAFKA_TOPIC_PARTITIONS: env.positiveInt(12),
    // 3 on a real cluster (with min.insync.replicas=2 a 200 means two disks have the event);
    // KAFKA_SINGLE_NODE=true (a one-broker dev/test stack) defaults it to 1 and allows it.
    KAFKA_SINGLE_NODE: env.bool(false),
    KAFKA_REPLICATION_FACTOR: z.coerce
      .number({ error: "must be a number" })
      .int()
      .positive({ error: "must be a positive integer" })
      .optional(),
    // Stripe waits ~10 s for an answer; leave room to say 503 before it gives up on us.
    PRODUCE_TIMEOUT_MS: env.positiveInt(5000),
    // Bound memory when the broker is slow: a count (events are typically a few KB)…
    MAX_IN_FLIGHT: env.positiveInt(5000),
    // …and bytes of encoded records (bodies can be 1 MiB each).
    MAX_IN_FLIGHT_BYTES: env.positiveInt(64 * 1024 * 1024),
    PRODUCE_MAX_BATCH: env.positiveInt(1000),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(15_000),
    // One event loop saturates one core; set to the number of cores for high-volume endpoints.
    INGEST_WORKERS: env.positiveInt(1),
    // Internal port of /metrics (summed over workers when INGEST_WORKERS > 1), /healthz, /readyz.
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
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      limits: toHttpLimits(e),
    },
    internal: { host: e.METRICS_HOST, port: e.METRICS_PORT },
    signature: { secrets: e.STRIPE_WEBHOOK_SECRETS, toleranceSeconds: e.STRIPE_WEBHOOK_TOLERANCE_S } as SignatureConfig,
    topics: { testTopic: e.KAFKA_TOPIC_TEST, liveTopic: e.KAFKA_TOPIC_LIVE } as TopicConfig,
    kafka: {
      brokers: e.KAFKA_BROKERS,
      partitions: e.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: e.KAFKA_REPLICATION_FACTOR ?? (e.KAFKA_SINGLE_NODE ? 1 : 3),
      singleNode: e.KAFKA_SINGLE_NODE,
      produceTimeoutMs: e.PRODUCE_TIMEOUT_MS,
      maxInFlight: e.MAX_IN_FLIGHT,
      maxInFlightBytes: e.MAX_IN_FLIGHT_BYTES,
      maxBatch: e.PRODUCE_MAX_BATCH,
    },
    schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
    cluster: { workers: e.INGEST_WORKERS },
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  }));

export type IngestConfig = z.output<typeof schema>;

/** Ingest needs no database; DATABASE_URL is accepted (shared env) but not required. */
export function loadIngestConfig(environment: Record<string, string | undefined>): IngestConfig {
  return loadConfig("ingest", schema, { DATABASE_URL: "postgres://unused/unused", ...environment });
}
