import { DLQ_HEADER } from "@sbs/projector/dead-letter-headers";
import { createKafka, createLogger, ensureTopics } from "@sbs/shared";
import { testStack, uniqueName, waitFor } from "@sbs/shared/testing";
import type { KafkaMessage } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redrive } from "./redrive.ts";

const stack = testStack();
const logger = createLogger({ service: "redrive-test", level: "silent" });
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "redrive-test", logger });
const topic = uniqueName("it-redrive");
const dlqTopic = `${topic}.dlq`;
const producer = kafka.producer({ allowAutoTopicCreation: false });
const base = { brokers: stack.kafkaBrokers, topic, dlqTopic, say: () => {} };

async function deadLetter(i: number) {
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: [
      {
        key: `${topic}:0:${i}`,
        value: Buffer.from(`payload-${i}`),
        headers: {
          event_id: `evt_${i}`,
          [DLQ_HEADER.topic]: topic,
          [DLQ_HEADER.partition]: "0",
          [DLQ_HEADER.offset]: String(i),
          [DLQ_HEADER.errorClass]: "InvalidEvent",
          [DLQ_HEADER.message]: "data.object.amount: expected number",
          [DLQ_HEADER.attempts]: "3",
          [DLQ_HEADER.key]: `platform:cus_${i}`,
        },
      },
    ],
  });
}

async function originRecords(expected: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName("redrive-reader") });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
  await waitFor(`${expected} records on the origin topic`, async () => (seen.length >= expected ? true : undefined));
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  return seen;
}

beforeAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [topic, dlqTopic].map((t) => ({ topic: t, numPartitions: 2, replicationFactor: 1, infiniteRetention: true })),
    logger,
  );
  await admin.disconnect();
  await producer.connect();
  for (const i of [1, 2, 3]) await deadLetter(i);
});
afterAll(() => producer.disconnect());

describe("pnpm cli redrive on a real broker", () => {
  it("lists in a dry run without moving anything, then redrives each dead letter once, as it was", async () => {
    const dry = await redrive({ ...base, dryRun: true, limit: undefined });
    expect(dry.listed.map((l) => l.originOffset).sort()).toEqual([`${topic}:0@1`, `${topic}:0@2`, `${topic}:0@3`]);
    expect(dry.redriven).toBe(0);

    const first = await redrive({ ...base, dryRun: false, limit: undefined });
    expect(first.redriven).toBe(3);
    const records = await originRecords(3);
    expect(records.map((r) => r.value?.toString()).sort()).toEqual(["payload-1", "payload-2", "payload-3"]);
    for (const r of records) {
      const i = r.value?.toString().split("-")[1];
      expect(r.key?.toString()).toBe(`platform:cus_${i}`);
      expect(r.headers?.["event_id"]?.toString()).toBe(`evt_${i}`);
      expect(r.headers?.["redriven_from"]?.toString()).toMatch(new RegExp(`^${dlqTopic}:\\d@\\d+$`));
      expect(Object.keys(r.headers ?? {}).some((h) => h.startsWith("dlq."))).toBe(false);
    }

    expect((await redrive({ ...base, dryRun: false, limit: undefined })).redriven).toBe(0);
  });

  it("redrives only what came since, at most --limit at a time", async () => {
    await deadLetter(4);
    await deadLetter(5);
    expect((await redrive({ ...base, dryRun: false, limit: 1 })).redriven).toBe(1);
    expect((await redrive({ ...base, dryRun: false, limit: undefined })).redriven).toBe(1);
    expect((await originRecords(5)).length).toBe(5);
  });
});
