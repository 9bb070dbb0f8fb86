import { homedir } from "node:os";
import { join } from "node:path";
import { createLogger, env, loadConfig, stackEnvSchema } from "@sbs/shared";
import { z } from "zod";
import { connectEventLog } from "../app.ts";
import type { CommandDeps, Writer } from "./cli.ts";
import { systemClock } from "./clock.ts";
import { createStripeConnection, parseApiBase } from "./stripe-connection.ts";

const commandEnv = z.object({
  STRIPE_API_KEY: env.secret("a Stripe secret or restricted key (sk_test_…, rk_live_…)"),
  // Stripe allows 25 req/s in test mode and 100 in live; stay under the smaller by default.
  STRIPE_API_RATE: z.coerce.number().positive().default(20),
  // Another Stripe API origin: stripe-mock, a recording proxy. Default api.stripe.com.
  STRIPE_API_BASE: z.string().optional(),
  KAFKA_TOPIC_TEST: z.string().default("stripe.events.test"),
  KAFKA_TOPIC_LIVE: z.string().default("stripe.events.live"),
  INGEST_STATE_DIR: z.string().optional(),
  XDG_STATE_HOME: z.string().optional(),
});

// Only the commands that append need Kafka; checked when they open the log, not before.
const kafkaEnv = stackEnvSchema.omit({ DATABASE_URL: true }).extend({
  KAFKA_TOPIC_PARTITIONS: env.positiveInt(12),
  KAFKA_REPLICATION_FACTOR: env.positiveInt(1),
  PRODUCE_TIMEOUT_MS: env.positiveInt(15_000),
});

/** The dependencies of the Stripe API commands, from the environment (one place, read once). */
export function commandDepsFromEnv(
  environment: Record<string, string | undefined>,
  out: Writer,
  err: Writer,
): CommandDeps {
  const cfg = loadConfig("ingest commands", commandEnv, environment);
  const topics = { testTopic: cfg.KAFKA_TOPIC_TEST, liveTopic: cfg.KAFKA_TOPIC_LIVE };
  return {
    stripe: createStripeConnection({
      apiKey: cfg.STRIPE_API_KEY,
      clock: systemClock,
      requestsPerSecond: cfg.STRIPE_API_RATE,
      ...(cfg.STRIPE_API_BASE === undefined || cfg.STRIPE_API_BASE === "" ? {} : parseApiBase(cfg.STRIPE_API_BASE)),
    }),
    topics,
    out,
    err,
    clock: systemClock,
    // Cursors outlive any one checkout: keep them where the XDG spec puts state.
    stateDir:
      cfg.INGEST_STATE_DIR ?? join(cfg.XDG_STATE_HOME ?? join(homedir(), ".local", "state"), "stripe-brevo-stream"),
    openEventLog: async () => {
      const k = loadConfig("ingest commands", kafkaEnv, environment);
      const logger = createLogger({ service: "ingest-cli", level: k.LOG_LEVEL === "info" ? "warn" : k.LOG_LEVEL });
      const { eventLog } = await connectEventLog(
        {
          kafka: {
            brokers: k.KAFKA_BROKERS,
            partitions: k.KAFKA_TOPIC_PARTITIONS,
            replicationFactor: k.KAFKA_REPLICATION_FACTOR,
            produceTimeoutMs: k.PRODUCE_TIMEOUT_MS,
            // Backfill appends with bounded concurrency of its own; these only cap the batcher.
            maxInFlight: 10_000,
            maxBatch: 500,
          },
          topics,
          schemaRegistryUrl: k.SCHEMA_REGISTRY_URL,
        },
        { logger },
      );
      return eventLog;
    },
  };
}
