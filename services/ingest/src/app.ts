import { once } from "node:events";
import type { AddressInfo } from "node:net";
import {
  createInternalServer,
  createKafka,
  createSchemaRegistry,
  ensureTopics,
  type Logger,
  registerDefaultMetrics,
} from "@sbs/shared";
import { type Admin, type KafkaConfig, Partitioners } from "kafkajs";
import { Registry } from "prom-client";
import { createEventLog, ENVELOPE_SUBJECT, type EventLog } from "./adapters/event-log.ts";
import type { IngestConfig } from "./config.ts";
import { createHttpServer } from "./http/server.ts";
import { createIngestMetrics, type IngestMetrics } from "./metrics.ts";

export interface Ingest {
  eventLog: EventLog;
  metrics: IngestMetrics;
  /**
   * Starts listening: the webhook port, and (unless a cluster worker, whose primary serves the
   * sum) the internal port of /metrics, /healthz, /readyz. Port 0 picks a free one.
   */
  listen(): Promise<{ webhook: AddressInfo; internal?: AddressInfo }>;
  /** Refuses new requests (503), finishes in-flight sends, disconnects. Safe to call twice. */
  stop(): Promise<void>;
}

export interface IngestOptions {
  logger: Logger;
  /** Epoch milliseconds; tests inject a clock for the signature window. */
  now?: () => number;
  kafkaOverrides?: Partial<KafkaConfig>;
  /** Where metrics are registered; a cluster worker passes prom-client's global registry. */
  metricsRegistry?: Registry;
  /** False in a cluster worker: the primary serves the internal port for all workers. */
  internalServer?: boolean;
}

export interface KafkaEventLogConfig {
  kafka: Pick<
    IngestConfig["kafka"],
    "brokers" | "partitions" | "replicationFactor" | "produceTimeoutMs" | "maxInFlight" | "maxBatch"
  > &
    // Optional for callers that predate them: ensureTopics then reads KAFKA_SINGLE_NODE itself,
    // and in-flight bytes are unbounded (the CLI appends one page at a time anyway).
    Partial<Pick<IngestConfig["kafka"], "singleNode" | "maxInFlightBytes">>;
  topics: IngestConfig["topics"];
  schemaRegistryUrl: string;
}

/**
 * Connects to Kafka, provisions the event topics and returns the event log every entry point
 * appends through (webhooks, backfill, catch-up). `close()` flushes and disconnects.
 */
export async function connectEventLog(
  config: KafkaEventLogConfig,
  opts: Pick<IngestOptions, "logger" | "kafkaOverrides"> & { onAcked?: (ms: number) => void },
): Promise<{ eventLog: EventLog; admin: Admin }> {
  const { logger } = opts;
  const kafka = createKafka({
    brokers: config.kafka.brokers,
    clientId: "ingest",
    logger,
    overrides: {
      // The per-request deadline decides when to give up; kafkajs' own retries stay inside it.
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: Math.max(500, config.kafka.produceTimeoutMs / 2) },
      ...opts.kafkaOverrides,
    },
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [config.topics.testTopic, config.topics.liveTopic].map((topic) => ({
      topic,
      numPartitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
      infiniteRetention: true,
    })),
    logger,
    config.kafka.singleNode === undefined ? {} : { singleNode: config.kafka.singleNode },
  );
  // The Java client's partitioner (murmur2), so other producers of these topics agree on placement.
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const log = await createEventLog({
    producer,
    registry: createSchemaRegistry(config.schemaRegistryUrl),
    subject: ENVELOPE_SUBJECT,
    logger,
    timeoutMs: config.kafka.produceTimeoutMs,
    maxInFlight: config.kafka.maxInFlight,
    ...(config.kafka.maxInFlightBytes ? { maxInFlightBytes: config.kafka.maxInFlightBytes } : {}),
    maxBatch: config.kafka.maxBatch,
    ...(opts.onAcked ? { onAcked: (_record: unknown, ms: number) => opts.onAcked?.(ms) } : {}),
  });
  const eventLog: EventLog = {
    append: (record) => log.append(record),
    get inFlight() {
      return log.inFlight;
    },
    async close() {
      await log.close();
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    },
  };
  return { eventLog, admin };
}

/** Builds the ingest service (topics provisioned, producer connected) without accepting traffic yet. */
export async function createIngest(config: IngestConfig, opts: IngestOptions): Promise<Ingest> {
  const { logger } = opts;
  let metrics: IngestMetrics | undefined;
  const { eventLog, admin } = await connectEventLog(config, {
    logger,
    ...(opts.kafkaOverrides ? { kafkaOverrides: opts.kafkaOverrides } : {}),
    onAcked: (ms) => metrics?.produceLatency.observe(ms / 1000),
  });
  const registry = opts.metricsRegistry ?? new Registry();
  registerDefaultMetrics(registry);
  let bodyBytes = () => 0;
  metrics = createIngestMetrics(
    () => eventLog.inFlight,
    registry,
    () => bodyBytes(),
  );

  let draining = false;
  const server = createHttpServer({
    signature: config.signature,
    topics: config.topics,
    eventLog,
    metrics,
    logger: logger.child({ component: "http" }),
    now: opts.now ?? Date.now,
    limits: config.http.limits,
    draining: () => draining,
  });
  bodyBytes = () => server.budget.used;
  const ready = cachedProbe(async () => {
    try {
      await admin.describeCluster();
      return true;
    } catch {
      return false;
    }
  }, 1000);
  const internal =
    opts.internalServer === false
      ? undefined
      : createInternalServer({
          metrics: () => registry.metrics(),
          contentType: registry.contentType,
          ready: async () => !draining && (await ready()),
        });

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    draining = true;
    const closed = server.listening ? once(server, "close") : Promise.resolve();
    server.close();
    // Idle keep-alive connections would hold close() open; busy ones finish their request first.
    server.closeIdleConnections();
    // Closing the event log flushes in-flight appends, then disconnects producer and admin.
    await eventLog.close();
    server.closeAllConnections();
    await closed;
    await internal?.close();
  };

  return {
    eventLog,
    metrics,
    async listen() {
      server.listen(config.http.port, config.http.host);
      await once(server, "listening");
      const webhook = server.address() as AddressInfo;
      if (!internal) return { webhook };
      return { webhook, internal: await internal.listen(config.internal.host, config.internal.port) };
    },
    stop() {
      stopping ??= stop();
      return stopping;
    },
  };
}

/** Answers from a recent probe instead of asking the broker on every /readyz poll. */
function cachedProbe(probe: () => Promise<boolean>, ttlMs: number): () => Promise<boolean> {
  let last: { at: number; value: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > ttlMs) last = { at: now, value: probe() };
    return last.value;
  };
}
