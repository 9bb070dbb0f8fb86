import type { AddressInfo } from "node:net";
import { createInternalServer, type Logger, registerDefaultMetrics } from "@sbs/shared";
import type { KafkaConfig } from "kafkajs";
import type { Registry } from "prom-client";
import type { ProjectorConfig } from "./config.ts";
import { createTopicConsumer, type HaltedPartition } from "./consumer/topic-consumer.ts";
import { createProjectorMetrics, type ProjectorMetrics } from "./metrics.ts";
import { createRuntime } from "./runtime.ts";
import { livePointer } from "./store/positions.ts";

export interface Projector {
  readonly metrics: ProjectorMetrics;
  /** The generation written now (follows the pointer after a rebuild switched it). */
  readonly generation: number;
  /** Partitions this instance refuses to advance (reason and fix), e.g. after the topic was recreated. */
  readonly halted: readonly HaltedPartition[];
  /** Migrates, connects, starts consuming. */
  start(): Promise<void>;
  /** Serves /metrics and /healthz; port 0 picks a free one. */
  listen(): Promise<AddressInfo>;
  /** Stops fetching, lets the batch in progress finish or roll back, closes connections. Safe twice. */
  stop(): Promise<void>;
}

export interface ProjectorOptions {
  readonly logger: Logger;
  readonly kafkaOverrides?: Partial<KafkaConfig>;
  readonly metricsRegistry?: Registry;
}

/** Builds the live projector without starting it. It has no side effects outside Postgres and the DLQ. */
export function createProjector(config: ProjectorConfig, opts: ProjectorOptions): Projector {
  const logger = opts.logger.child({ component: "projector" });
  const runtime = createRuntime(
    config,
    { logger: opts.logger, ...(opts.kafkaOverrides ? { kafkaOverrides: opts.kafkaOverrides } : {}) },
    "projector",
  );
  const metrics = createProjectorMetrics(opts.metricsRegistry);
  const generation = { current: 0 };
  const consumer = createTopicConsumer({
    kafka: runtime.kafka,
    topic: config.kafka.topic,
    groupId: config.kafka.groupId,
    pool: runtime.pool,
    process: runtime.processor(metrics, generation, true),
    drainMailbox: runtime.mailboxDrain(metrics).supervise,
    generation,
    followPointer: true,
    watermarks: runtime.watermarks,
    superviseIntervalMs: config.superviseIntervalMs,
    metrics,
    logger: opts.logger,
    partitionsConsumedConcurrently: config.kafka.partitionsConcurrency,
    maxBytesPerPartition: config.kafka.maxBytesPerPartition,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
  });
  let stopping: Promise<void> | undefined;
  // process_* and nodejs_* (CPU, RSS, heap, event-loop lag, GC) beside the projector's own.
  registerDefaultMetrics(metrics.registry);
  const http = createInternalServer({
    metrics: () => metrics.registry.metrics(),
    contentType: metrics.registry.contentType,
    health: () => ({
      ok: consumer.healthy && stopping === undefined,
      // A halted partition is not healthy, though the process goes on with the others.
      detail: { generation: generation.current, topic: config.kafka.topic, halted: consumer.halted },
    }),
  });

  return {
    metrics,
    get generation() {
      return generation.current;
    },
    get halted() {
      return consumer.halted;
    },
    async start() {
      await runtime.open();
      generation.current = await livePointer(runtime.pool);
      metrics.generation.set(generation.current);
      await consumer.start();
      logger.info({ topic: config.kafka.topic, generation: generation.current }, "projector started");
    },
    listen: () => http.listen(config.http.host, config.http.port),
    stop() {
      stopping ??= (async () => {
        await http.close();
        await consumer.stop().catch((error: unknown) => logger.warn({ err: error }, "consumer stop failed"));
        await runtime.close();
      })();
      return stopping;
    },
  };
}
