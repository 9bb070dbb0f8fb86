/**
 * Producing test data as ingest does: ingest's own routing and envelope (`toAppendRecord`),
 * registry-encoded under its subject, partitioned with the Java client's murmur2.
 */

import { STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA } from "@sbs/ingest/envelope-schema";
import { toAppendRecord } from "@sbs/ingest/record";
import { createKafka, createSchemaRegistry, ensureTopics, type Logger, registerAvroSchema } from "@sbs/shared";
import { type Kafka, type Message, Partitioners, type Producer } from "kafkajs";
import type { RawEvent } from "../domain/stripe-test-events.ts";

export const ENVELOPE_SUBJECT = "sbs.ingest.StripeEventEnvelope";

export interface TestEventLog {
  readonly kafka: Kafka;
  /** Appends events in order; resolves when the broker acknowledged all of them. */
  append(events: readonly RawEvent[]): Promise<void>;
  /** Raw records (poison): value bytes as given. */
  appendRaw(records: readonly Message[]): Promise<void>;
  /** An envelope whose payload is the given text (valid Avro, maybe not a valid event). */
  envelopeOf(payload: string, eventId: string): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openTestEventLog(opts: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<TestEventLog> {
  const kafka = createKafka({ brokers: opts.brokers, clientId: "projector-test-producer", logger: opts.logger });
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
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const topics = { testTopic: opts.topic, liveTopic: `${opts.topic}.live-unused` };

  const toMessage = async (event: RawEvent): Promise<Message> => {
    const payload = JSON.stringify(event);
    const routed = toAppendRecord({ ...event, account: null } as never, payload, {
      topics,
      receivedAt: Date.now(),
      provenance: { source: "webhook", verifiedBy: "test" },
    });
    if (!routed.ok) throw new Error(`event ${event.id} has no routing key`);
    return {
      key: routed.record.key,
      value: await registry.encode(schemaId, routed.record.envelope),
      headers: routed.record.headers,
    };
  };

  return {
    kafka,
    async append(events) {
      for (let i = 0; i < events.length; i += 500) {
        const messages = await Promise.all(events.slice(i, i + 500).map(toMessage));
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
