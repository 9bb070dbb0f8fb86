import { createKafka, createPool, ensureTopics, migrate } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName } from "@sbs/shared/testing";
import { type Kafka, Partitioners, type Producer } from "kafkajs";
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../runtime.ts";
import { silent } from "../testing/int-setup.ts";
import { createDeadLetterPublisher, type DeadLetterInput } from "./dead-letter-publisher.ts";

let pool: Pool;
let drop: () => Promise<void>;
let kafka: Kafka;
let producer: Producer;
const dlqTopic = uniqueName("dlq-identity");

beforeAll(async () => {
  const stack = testStack();
  const schema = await isolatedSchema(stack.databaseUrl);
  drop = schema.drop;
  await migrate({ url: stack.databaseUrl, dir: MIGRATIONS_DIR, schema: schema.schema, logger: silent });
  pool = createPool({ url: stack.databaseUrl, schema: schema.schema, applicationName: "dlq-int" });
  kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "dlq-int", logger: silent });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(
    admin,
    [{ topic: dlqTopic, numPartitions: 1, replicationFactor: 1, infiniteRetention: true }],
    silent,
  );
  await admin.disconnect();
  producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});
afterAll(async () => {
  await producer?.disconnect();
  await pool?.end();
  await drop?.();
});

const dlqEnd = async () => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return Number((await admin.fetchTopicOffsets(dlqTopic))[0]?.high ?? 0);
  } finally {
    await admin.disconnect();
  }
};

const letter = (value: string): DeadLetterInput => ({
  offset: "3",
  key: Buffer.from("platform:cus_1"),
  value: Buffer.from(value),
  headers: {},
  attempts: 3,
  errorClass: "avro_decode",
  reason: "not in Confluent wire format",
});

describe("dead-letter publisher", () => {
  it("publishes a record once, and a different record at a reused offset (a recreated topic) again", async () => {
    const publisher = createDeadLetterPublisher({
      kafka,
      producer,
      pool,
      dlqTopic: () => dlqTopic,
      dlqPartitions: async () => 1,
      logger: silent,
    });
    await publisher.publish("orders", 0, [letter("first poison")]);
    await publisher.publish("orders", 0, [letter("first poison")]);
    expect(await dlqEnd()).toBe(1);
    await publisher.publish("orders", 0, [letter("other poison, same offset")]);
    expect(await dlqEnd()).toBe(2);
    const { rows } = await pool.query("SELECT state, dlq_offset FROM dead_letter");
    expect(rows).toEqual([{ state: "sent", dlq_offset: "1" }]);
  });
});
