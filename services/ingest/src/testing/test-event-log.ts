/**
 * For other services' integration tests: append Stripe events to a topic exactly as ingest does —
 * ingest's routing and envelope (`toAppendRecord`), registry-encoded under ingest's subject,
 * partitioned with the Java client's murmur2 — without running the webhook server. Provenance is
 * per call, so one topic can hold webhook deliveries, backfill snapshots and catch-up reads.
 */
import { createKafka, createSchemaRegistry, ensureTopics, type Logger, registerAvroSchema } from "@sbs/shared";
import { type Kafka, type Message, Partitioners, type Producer } from "kafkajs";
import { ENVELOPE_SUBJECT } from "../adapters/event-log.ts";
import { STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA } from "../domain/envelope-schema.ts";
import { toAppendRecord } from "../domain/record.ts";
import type { EventSource } from "../domain/routing.ts";

export interface TestEventLog<E extends { readonly id: string }> {
  readonly kafka: Kafka;
  /** Appends events in order; resolves when the broker acknowledged all of them. */
  append(events: readonly E[], source?: EventSource): Promise<void>;
  /** Raw records (poison): value bytes as given. */
  appendRaw(records: readonly Message[]): Promise<void>;
  /** An envelope whose payload is the given text (valid Avro, maybe not a valid event). */
  envelopeOf(payload: string, eventId: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openTestEventLog<E extends { readonly id: string }>(opts: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<TestEventLog<E>> {
  const kafka = createKafka({ brokers: opts.brokers, clientId: "test-producer", logger: opts.logger });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [{ topic: opts.topic, numPartitions: opts.partitions, replicationFactor: 1, infiniteRetention: true }],
    opts.logger,
  );
  await admin.disconnect();
  const registry = createSchemaRegistry(opts.registryUrl);
  const schemaId = await registerAvroSchema(registry, ENVELOPE_SUBJECT, STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA);
  // Idempotent: a send retried after a timeout (a loaded CI machine) must not write its batch
  // twice, since tests count the topic's records against what they appended.
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const topics = { testTopic: opts.topic, liveTopic: `${opts.topic}.live-unused` };

  const toMessage = async (event: E, source: EventSource): Promise<Message> => {
    const routed = toAppendRecord({ ...event, account: undefined } as never, JSON.stringify(event), {
      topics,
      receivedAt: Date.now(),
      provenance: source === "webhook" ? { source, verifiedBy: "test" } : { source },
    });
    if (!routed.ok) throw new Error(`event ${event.id} has no routing key`);
    return {
      key: routed.record.key,
      value: await registry.encode(schemaId, routed.record.envelope),
      headers: { ...routed.record.headers },
    };
  };

  return {
    kafka,
    async append(events, source = "webhook") {
      for (let i = 0; i < events.length; i += 500) {
        const messages = await Promise.all(events.slice(i, i + 500).map((e) => toMessage(e, source)));
        await producer.send({ topic: opts.topic, acks: -1, messages });
      }
    },
    async appendRaw(records) {
      await producer.send({ topic: opts.topic, acks: -1, messages: [...records] });
    },
    async envelopeOf(payload, eventId) {
      return registry.encode(schemaId, {
        event_id: eventId,
        type: "charge.succeeded",
        created: 1_700_000_000,
        livemode: false,
        api_version: null,
        account: null,
        source: "webhook",
        received_at: Date.now(),
        verified_by: "test",
        payload,
      });
    },
    async close() {
      await producer.disconnect();
    },
  };
}
