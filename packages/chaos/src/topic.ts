import { createKafka, createSchemaRegistry, type Logger } from "@sbs/shared";
import type { Kafka } from "kafkajs";

/** Reads a whole topic back after quiescence: what oracles A, B and E compare against. */

export interface TopicRecord {
  readonly eventId: string;
  readonly type: string;
  readonly created: number;
  readonly source: string;
  /** The Stripe event JSON as received. */
  readonly payload: string;
}

/** Sum over partitions of the high-water marks, and each of them. */
export async function highWaterMarks(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Records of `topic` a consumer group has not committed yet (all of them before its first commit):
 * the sink's event consumer is caught up when this is 0.
 */
export async function groupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [high, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Math.max(0, Number(p.offset))]));
    return high.reduce((sum, h) => sum + Math.max(0, Number(h.high) - (done.get(h.partition) ?? 0)), 0);
  } finally {
    await admin.disconnect();
  }
}

export function openKafka(brokers: readonly string[], logger: Logger): Kafka {
  return createKafka({
    brokers: [...brokers],
    clientId: "chaos-harness",
    logger,
    overrides: { retry: { retries: 8 } },
  });
}

/** Every record of `topic` up to its current high-water marks, decoded through the registry. */
export async function readTopic(kafka: Kafka, registryUrl: string, topic: string): Promise<TopicRecord[]> {
  const registry = createSchemaRegistry(registryUrl);
  const high = await highWaterMarks(kafka, topic);
  const remaining = new Map([...high].filter(([, h]) => h > 0));
  const records: TopicRecord[] = [];
  if (remaining.size === 0) return records;
  const consumer = kafka.consumer({ groupId: `chaos-reader-${process.pid}-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = high.get(batch.partition) ?? 0;
            for (const m of batch.messages) {
              if (Number(m.offset) >= end || m.value === null) continue;
              const e = (await registry.decode(m.value)) as {
                event_id: string;
                type: string;
                created: number | bigint;
                source: string;
                payload: string;
              };
              records.push({
                eventId: e.event_id,
                type: e.type,
                created: Number(e.created),
                source: e.source,
                payload: e.payload,
              });
            }
            const last = batch.messages.at(-1);
            if (last && Number(last.offset) + 1 >= end) remaining.delete(batch.partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Records a topic holds in total (0 when it does not exist yet). */
export async function recordCount(kafka: Kafka, topic: string): Promise<number> {
  try {
    return [...(await highWaterMarks(kafka, topic)).values()].reduce((a, b) => a + b, 0);
  } catch {
    return 0;
  }
}
