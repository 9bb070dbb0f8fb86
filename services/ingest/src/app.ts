import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createKafka, createSchemaRegistry, ensureTopics, type Logger } from "@sbs/shared";
import { type Admin, type KafkaConfig, Partitioners } from "kafkajs";
import type { Registry } from "prom-client";
import { createEventLog, ENVELOPE_SUBJECT, type EventLog } from "./adapters/event-log.ts";
import type { IngestConfig } from "./config.ts";
import { createHttpServer } from "./http/server.ts";
import { createIngestMetrics, type IngestMetrics } from "./metrics.ts";

export interface Ingest {
  eventLog: EventLog;
  metrics: IngestMetrics;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(): Promise<AddressInfo>;
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
}

export interface KafkaEventLogConfig {
  kafka: Pick<
    IngestConfig["kafka"],
    "brokers" | "partitions" | "replicationFactor" | "produceTimeoutMs" | "maxInFlight" | "maxBatch"
  >;
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
  metrics = createIngestMetrics(() => eventLog.inFlight, opts.metricsRegistry);

  let draining = false;
  const server = createHttpServer({
    signature: config.signature,
    topics: config.topics,
    eventLog,
    metrics,
    logger: logger.child({ component: "http" }),
    now: opts.now ?? Date.now,
    maxBodyBytes: config.http.maxBodyBytes,
    ready: cachedProbe(async () => {
      try {
        await admin.describeCluster();
        return true;
      } catch {
        return false;
      }
    }, 1000),
    draining: () => draining,
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
  };

  return {
    eventLog,
    metrics,
    async listen() {
      server.listen(config.http.port, config.http.host);
      await once(server, "listening");
      return server.address() as AddressInfo;
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
