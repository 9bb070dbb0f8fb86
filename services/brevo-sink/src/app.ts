import { fileURLToPath } from "node:url";
import {
  createKafka,
  createPool,
  createSchemaRegistry,
  isRetriable,
  type Logger,
  migrate,
  type Pool,
} from "@sbs/shared";
import { type BrevoTransport, createBrevoTransport } from "./adapters/brevo-transport.ts";
import { type Clock, systemClock } from "./adapters/clock.ts";
import { type EventSource, noEvents } from "./adapters/event-source.ts";
import { createKafkaEventConsumer, type KafkaEventConsumer } from "./adapters/kafka-event-consumer.ts";
import { createPgEventSource } from "./adapters/pg-event-source.ts";
import { createPgProjectionSource } from "./adapters/pg-projection-source.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import type { ProjectionSource } from "./adapters/projection-source.ts";
import type { SinkState } from "./adapters/sink-state.ts";
import { bootstrapAttributes } from "./bootstrap.ts";
import type { SinkEnvConfig } from "./config.ts";
import type { SinkConfig } from "./domain/sink-config.ts";
import { createLeadership } from "./leader.ts";
import { type SyncOptions, type SyncReport, syncOnce } from "./sync.ts";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export interface SinkAppDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * Custom events feed read in each pass. Default: Postgres when SINK_EVENTS_FROM_DB; else, when
   * KAFKA_BROKERS is set, a Kafka consumer on ingest's event topic (running beside the passes);
   * else none (events off).
   */
  readonly events?: EventSource;
  readonly fetch?: typeof fetch;
}

export interface SinkApp {
  readonly pool: Pool;
  readonly state: SinkState;
  readonly source: ProjectionSource;
  readonly transport: BrevoTransport;
  /** The Kafka events consumer, when that is the events feed. */
  readonly eventsConsumer: KafkaEventConsumer | undefined;
  /** Migrations + attribute bootstrap; throws (refuses to start) on an incompatible attribute. */
  prepare(): Promise<void>;
  runOnce(mode?: SyncOptions["mode"]): Promise<SyncReport>;
  /**
   * Starts the events consumer (when Kafka is the events feed), then runs passes every intervalMs
   * until stop(); transient failures are logged and retried next pass.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createTransportFromEnv(env: SinkEnvConfig, deps: SinkAppDeps): BrevoTransport {
  return createBrevoTransport({
    apiKey: env.brevo.apiKey,
    baseUrl: env.brevo.baseUrl,
    perSecond: env.brevo.perSecond,
    perHour: env.brevo.perHour,
    maxAttempts: env.brevo.maxAttempts,
    baseDelayMs: 500,
    maxDelayMs: 30_000,
    max429: 100,
    timeoutSeconds: env.brevo.timeoutSeconds,
    processPollMs: 1000,
    processTimeoutMs: 30 * 60_000,
    clock: deps.clock ?? systemClock,
    logger: deps.logger.child({ component: "brevo" }),
    ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }),
  });
}

export function createSinkApp(env: SinkEnvConfig, config: SinkConfig, deps: SinkAppDeps): SinkApp {
  const clock = deps.clock ?? systemClock;
  const pool = createPool({
    url: env.databaseUrl,
    applicationName: "brevo-sink",
    max: 4,
    ...(env.databaseSchema === undefined ? {} : { schema: env.databaseSchema }),
  });
  const state = createPgSinkState(pool);
  const source = createPgProjectionSource(pool, { schema: env.projectionSchema });
  const transport = createTransportFromEnv(env, deps);
  const logger = deps.logger;
  const kafkaEvents = deps.events === undefined && !env.sync.eventsFromDb ? env.events.kafka : undefined;
  const events = deps.events ?? (env.sync.eventsFromDb ? createPgEventSource(pool) : noEvents);
  const eventsConsumer =
    kafkaEvents === undefined
      ? undefined
      : createKafkaEventConsumer({
          kafka: createKafka({ brokers: kafkaEvents.brokers, clientId: "brevo-sink", logger }),
          registry: createSchemaRegistry(kafkaEvents.schemaRegistryUrl),
          topic: kafkaEvents.topic,
          groupId: kafkaEvents.groupId,
          config,
          state,
          transport,
          logger,
          clock,
          contactWaitMs: env.events.contactWaitMs,
          source,
        });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  const runOnce = (mode: SyncOptions["mode"] = "incremental") =>
    syncOnce({ config, source, events, state, transport, logger, clock }, { ...env.sync, mode });

  const leadership = createLeadership({ databaseUrl: env.databaseUrl, schema: env.databaseSchema, logger });
  let lastResync = clock.now();
  const pass = async () => {
    try {
      if (!(await leadership.lead())) {
        if (!stopped) timer = setTimeout(() => (running = pass()), env.sync.intervalMs);
        return;
      }
      const resync = clock.now() - lastResync >= env.sync.resyncEveryMs;
      const report = await runOnce(resync ? "resync" : "incremental");
      if (resync) lastResync = clock.now();
      if (report.pushed + report.failed + report.events.sent > 0) logger.info({ report }, "sync pass done");
    } catch (error) {
      if (!isRetriable(error)) {
        logger.fatal({ err: error }, "sync stopped: not retriable");
        stopped = true;
        return;
      }
      logger.warn({ err: error }, "sync pass failed; retrying next pass");
    }
    if (!stopped) timer = setTimeout(() => (running = pass()), env.sync.intervalMs);
  };

  return {
    pool,
    state,
    source,
    transport,
    eventsConsumer,
    async prepare() {
      await migrate({
        url: env.databaseUrl,
        dir: MIGRATIONS_DIR,
        logger,
        ...(env.databaseSchema === undefined ? {} : { schema: env.databaseSchema }),
      });
      await bootstrapAttributes(transport, config, logger);
    },
    runOnce,
    async start() {
      // A consumer that cannot connect refuses to start, as an incompatible attribute does.
      await eventsConsumer?.start();
      running = pass();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await eventsConsumer?.stop();
      await running;
      await leadership.release();
      await pool.end();
    },
  };
}
