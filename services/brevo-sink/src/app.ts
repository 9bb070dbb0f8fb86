import { fileURLToPath } from "node:url";
import { AppError, createKafka, createPool, createSchemaRegistry, type Logger, migrate, type Pool } from "@sbs/shared";
import { type BrevoTransport, createBrevoTransport } from "./adapters/brevo-transport.ts";
import { type Clock, systemClock } from "./adapters/clock.ts";
import { type EventSource, noEvents } from "./adapters/event-source.ts";
import { createKafkaEventConsumer, type KafkaEventConsumer } from "./adapters/kafka-event-consumer.ts";
import { createPgEventSource } from "./adapters/pg-event-source.ts";
import { createPgProjectionSource } from "./adapters/pg-projection-source.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import type { ProjectionSource } from "./adapters/projection-source.ts";
import type { SinkState } from "./adapters/sink-state.ts";
import { bootstrapWhenReachable } from "./bootstrap.ts";
import type { SinkEnvConfig } from "./config.ts";
import { type SinkConfig, usesHistory } from "./domain/sink-config.ts";
import { createSinkHttpServer } from "./http-server.ts";
import { createLeadership, type Leadership } from "./leader.ts";
import { createSinkMetrics } from "./metrics.ts";
import { createPassLoop, type PassHealth } from "./pass-loop.ts";
import { planPass, resyncDone } from "./schedule.ts";
import { type SyncOptions, type SyncReport, syncOnce } from "./sync.ts";
import { brevoContactReader, sampleDrift } from "./verify.ts";

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
  /** Default: the advisory lock + lease of leader.ts. */
  readonly leadership?: Leadership;
  /** After a fatal error with SINK_EXIT_ON_FATAL (main.ts: stop, then exit 1). */
  readonly onFatal?: (error: unknown) => void;
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
  /** One scheduled pass as start() runs them (leadership, resync schedule, fatal handling). */
  tick(): Promise<void>;
  health(): Readonly<PassHealth>;
  /**
   * Starts the events consumer (when Kafka is the events feed), then runs passes every intervalMs
   * until stop(); transient failures are logged and retried next pass.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What the last live self-test (commands/test-connection.ts) found; refuses or warns per SINK_SELF_TEST. */
export async function checkSelfTest(state: SinkState, policy: SinkEnvConfig["selfTest"], logger: Logger) {
  if (policy === "off") return;
  const stored = await state.getCursor("brevo_self_test");
  if (stored === undefined) {
    logger.warn("no Brevo self-test recorded: run `pnpm cli test-connection --brevo` with this DATABASE_URL");
    return;
  }
  const result = JSON.parse(stored) as { at: string; failed: string[] };
  if (result.failed.length === 0) return;
  const message = `the Brevo self-test of ${result.at} found behaviours the sink relies on false: ${result.failed.join("; ")}`;
  if (policy === "refuse") throw new AppError("brevo_self_test_failed", `${message} (SINK_SELF_TEST=refuse)`);
  logger.error({ alert: "brevo_self_test_failed", failed: result.failed }, message);
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
    onIdleError: (error) => deps.logger.warn({ err: error }, "idle Postgres client failed"),
    ...(env.databaseSchema === undefined ? {} : { schema: env.databaseSchema }),
  });
  const state = createPgSinkState(pool);
  const source = createPgProjectionSource(pool, { schema: env.projectionSchema, history: usesHistory(config) });
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
  const runOnce = (mode: SyncOptions["mode"] = "incremental", fence?: number) =>
    syncOnce(
      { config, source, events, state, transport, logger, clock },
      { ...env.sync, mode, ...(fence === undefined ? {} : { fence }) },
    );

  const metrics = createSinkMetrics({ health: () => loop.health(), transport: transport.stats, pool });
  const leadership =
    deps.leadership ??
    createLeadership({ databaseUrl: env.databaseUrl, schema: env.databaseSchema, logger, lease: state });
  const loop = createPassLoop({
    leadership,
    clock,
    logger,
    intervalMs: env.sync.intervalMs,
    fatalBackoffMs: env.fatal.backoffMs,
    fatalBackoffMaxMs: env.fatal.backoffMaxMs,
    ...(env.fatal.exit && deps.onFatal ? { onFatal: deps.onFatal } : {}),
    runPass: async (epoch, health) => {
      const plan = await planPass(state, source, clock.now(), env.sync.resyncEveryMs);
      if (plan.mode === "resync") logger.info({ why: plan.why, generation: plan.generation }, "full resync");
      const report = await runOnce(plan.mode, epoch);
      metrics.recordPass(report);
      if (plan.mode === "resync") await resyncDone(state, plan, clock.now(), epoch);
      if (report.pushed + report.failed + report.events.sent > 0) logger.info({ report }, "sync pass done");
      await scheduledDriftCheck(health);
    },
  });
  /** The leader's sampled drift check, at most every SINK_VERIFY_EVERY_MS (time kept in the state). */
  const scheduledDriftCheck = async (health: { drift: unknown }) => {
    if (env.verify.sample === 0) return;
    const last = Number((await state.getCursor("last_verify_at")) ?? 0);
    if (clock.now() - last < env.verify.everyMs) return;
    try {
      const drift = await sampleDrift({
        config,
        state,
        source,
        extIds: await state.samplePushed(env.verify.sample),
        getContact: brevoContactReader({ ...env.brevo, ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }) }),
      });
      const drifted = drift.drifted;
      health.drift = { at: clock.now(), sampled: drift.sampled, drifted };
      await state.setCursor("last_verify_at", String(clock.now()));
      if (drifted > 0) logger.warn({ drift, alert: "brevo_sink_drift" }, "Brevo differs from what the sink pushed");
      else logger.info({ sampled: drift.sampled }, "drift check: Brevo matches the last push");
    } catch (error) {
      logger.warn({ err: error }, "drift check failed; tried again next pass");
    }
  };
  const http = createSinkHttpServer(loop.health, metrics.registry);

  return {
    pool,
    state,
    source,
    transport,
    eventsConsumer,
    async prepare() {
      if (env.migrateOnStart) {
        await migrate({
          url: env.databaseUrl,
          dir: MIGRATIONS_DIR,
          logger,
          ...(env.databaseSchema === undefined ? {} : { schema: env.databaseSchema }),
        });
      }
      await checkSelfTest(state, env.selfTest, logger);
      await bootstrapWhenReachable(transport, config, logger);
    },
    runOnce,
    tick: loop.tick,
    health: loop.health,
    async start() {
      // A consumer that cannot connect refuses to start, as an incompatible attribute does.
      await eventsConsumer?.start();
      const at = await http.listen(env.http.host, env.http.port);
      logger.info({ healthz: `http://${at.address}:${at.port}/healthz` }, "brevo-sink http");
      loop.start();
    },
    async stop() {
      await loop.stop();
      await http.close();
      await eventsConsumer?.stop();
      await leadership.release();
      await pool.end();
    },
  };
}
