/**
 * Producing Stripe events as ingest does, for integration tests: ingest's own routing and
 * envelope (`toAppendRecord` from `@sbs/ingest/record`), registry-encoded under ingest's subject,
 * partitioned with the Java client's murmur2. Provenance is per call, so a test can append
 * webhook deliveries, backfill snapshots and catch-up reads to one topic.
 */
import { STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA } from "@sbs/ingest/envelope-schema";
import { toAppendRecord } from "@sbs/ingest/record";
import { createKafka, createSchemaRegistry, ensureTopics, type Logger, registerAvroSchema } from "@sbs/shared";
import { type Kafka, type Message, Partitioners, type Producer } from "kafkajs";

export const ENVELOPE_SUBJECT = "sbs.ingest.StripeEventEnvelope";

export interface RawStripeEvent {
  readonly id: string;
  readonly object: "event";
  readonly type: string;
  readonly created: number;
  readonly api_version: string | null;
  readonly livemode: boolean;
  readonly data: { readonly object: Record<string, unknown> };
}

export type Delivery = "webhook" | "backfill" | "catch-up";

export function stripeEvent(
  type: string,
  created: number,
  object: Record<string, unknown>,
  id = `evt_${type.replaceAll(".", "_")}_${String(object["id"])}_${created}`,
): RawStripeEvent {
  return { id, object: "event", type, created, api_version: "2024-06-20", livemode: false, data: { object } };
}

export interface TestEventLog {
  readonly kafka: Kafka;
  append(events: readonly RawStripeEvent[], source?: Delivery): Promise<void>;
  close(): Promise<void>;
}

export async function openTestEventLog(opts: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<TestEventLog> {
  const kafka = createKafka({ brokers: opts.brokers, clientId: "brevo-sink-test-producer", logger: opts.logger });
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

  const toMessage = async (event: RawStripeEvent, source: Delivery): Promise<Message> => {
    const routed = toAppendRecord({ ...event, account: undefined } as never, JSON.stringify(event), {
      topics,
      receivedAt: Date.now(),
      provenance: source === "webhook" ? { source, verifiedBy: "STRIPE_WEBHOOK_SECRET" } : { source },
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
    async close() {
      await producer.disconnect();
    },
  };
}
