import {
  ConfigError,
  createKafka,
  createLogger,
  createSchemaRegistry,
  createShutdown,
  env,
  loadConfig,
  onSignals,
  stackEnvSchema,
} from "@sbs/shared";
import { z } from "zod";
import { systemClock } from "../commands/clock.ts";
import { commandDepsFromEnv } from "../commands/deps-from-env.ts";
import { createLineItemsEnricher } from "./line-items-enricher.ts";

/**
 * `pnpm --filter @sbs/ingest enrich`: the line-items enricher as its own process (issue #20).
 * Ingest's webhook path never calls Stripe; this reads the topic of the key's mode
 * (KAFKA_TOPIC_TEST for sk_test_/rk_test_, KAFKA_TOPIC_LIVE for live keys) and appends there.
 * Stripe access: STRIPE_API_KEY (a restricted key with Checkout Sessions read is enough),
 * STRIPE_API_RATE, STRIPE_API_BASE as for the commands.
 */
const enrichEnv = stackEnvSchema.omit({ DATABASE_URL: true }).extend({
  ENRICH_GROUP_ID: z.string().min(1).default("ingest-line-items"),
  ENRICH_MAX_ATTEMPTS: env.positiveInt(6),
  ENRICH_BACKOFF_MS: env.positiveInt(1000),
});

async function main() {
  const cfg = loadConfig("line-items enricher", enrichEnv, process.env);
  const logger = createLogger({ service: "ingest-enricher", level: cfg.LOG_LEVEL });
  const deps = commandDepsFromEnv(process.env, process.stdout, process.stderr);
  const topic = deps.stripe.key.mode === "live" ? deps.topics.liveTopic : deps.topics.testTopic;
  const eventLog = await deps.openEventLog();
  const shutdown = createShutdown(logger, { timeoutMs: 20_000 });
  const enricher = createLineItemsEnricher({
    kafka: createKafka({ brokers: cfg.KAFKA_BROKERS, clientId: "ingest-enricher", logger }),
    registry: createSchemaRegistry(cfg.SCHEMA_REGISTRY_URL),
    topic,
    topics: deps.topics,
    groupId: cfg.ENRICH_GROUP_ID,
    stripe: deps.stripe.client,
    eventLog,
    logger,
    clock: systemClock,
    maxAttempts: cfg.ENRICH_MAX_ATTEMPTS,
    baseBackoffMs: cfg.ENRICH_BACKOFF_MS,
    // A refused key will not heal by itself: exit non-zero for the supervisor to report.
    onFatal: () => void shutdown.run("fatal").then(() => process.exit(1)),
  });
  // Steps run last-registered first: the consumer stops, then the log flushes.
  shutdown.add("event log", () => eventLog.close());
  shutdown.add("enricher", () => enricher.stop());
  onSignals(shutdown, logger);
  await enricher.start();
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
