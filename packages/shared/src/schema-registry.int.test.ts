import type { Admin, Consumer, Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "./errors.ts";
import { createKafka, ensureTopics } from "./kafka.ts";
import { createLogger } from "./logger.ts";
import { createSchemaRegistry, registerAvroSchema } from "./schema-registry.ts";
import { testStack, uniqueName, waitFor, waitForGroupCaughtUp } from "./testing/index.ts";

const stack = testStack();
const logger = createLogger({ service: "test", level: "silent" });
const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "schema-registry-int", logger });
const topic = uniqueName("it-registry");
const subject = `${topic}-value`;
const groupId = uniqueName("it-registry-group");

const orderV1 = {
  type: "record",
  name: "Order",
  namespace: "test.sbs",
  fields: [
    { name: "id", type: "string" },
    { name: "amount", type: "long" },
  ],
};
// Adds a field with a default: readers of v2 can still read v1 records (BACKWARD compatible).
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: "currency", type: "string", default: "usd" }] };
// Changes a field's type: v3 readers could not read existing records.
const orderIncompatible = {
  ...orderV1,
  fields: [
    { name: "id", type: "string" },
    { name: "amount", type: "string" },
  ],
};

let admin: Admin;
let producer: Producer;
let consumer: Consumer;

beforeAll(async () => {
  admin = kafka.admin();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  consumer = kafka.consumer({ groupId });
  await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
  await ensureTopics(admin, [{ topic, numPartitions: 3, replicationFactor: 1, infiniteRetention: true }], logger);
});

afterAll(async () => {
  await Promise.all([admin?.disconnect(), producer?.disconnect(), consumer?.disconnect()]);
});

describe(`real Kafka ${stack.versions.kafka} + ${stack.versions.registry}`, () => {
  it("round-trips values encoded through the registry via the broker (acks=-1)", async () => {
    const registry = createSchemaRegistry(stack.schemaRegistryUrl);
    const id = await registerAvroSchema(registry, subject, orderV1);
    const orders = [
      { id: "o1", amount: 1200 },
      { id: "o2", amount: 0 },
      { id: "o3", amount: 9_007_199_254 },
    ];
    const messages = await Promise.all(orders.map(async (o) => ({ key: o.id, value: await registry.encode(id, o) })));
    // Confluent wire format: magic byte 0, then the schema id as a big-endian int32.
    expect(messages[0]?.value.readUInt8(0)).toBe(0);
    expect(messages[0]?.value.readInt32BE(1)).toBe(id);

    const acks = await producer.send({ topic, acks: -1, messages });
    expect(acks.every((a) => a.errorCode === 0)).toBe(true);

    // A fresh client has an empty cache, so decoding must fetch the schema by id from the registry.
    const reader = createSchemaRegistry(stack.schemaRegistryUrl);
    const received: unknown[] = [];
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value) received.push(await reader.decode(message.value));
      },
    });
    await waitFor("3 decoded records", async () => (received.length >= orders.length ? true : undefined));
    await waitForGroupCaughtUp(admin, groupId, topic);
    expect(received).toHaveLength(orders.length);
    expect(received).toEqual(expect.arrayContaining(orders));
  });

  it("accepts a backward-compatible change and rejects an incompatible one", async () => {
    const registry = createSchemaRegistry(stack.schemaRegistryUrl);
    const v1 = await registerAvroSchema(registry, subject, orderV1);
    expect(await registerAvroSchema(registry, subject, orderV1)).toBe(v1);
    const v2 = await registerAvroSchema(registry, subject, orderV2);
    expect(v2).not.toBe(v1);

    const rejected = await registerAvroSchema(registry, subject, orderIncompatible).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(AppError);
    expect(rejected).toMatchObject({ code: "schema_incompatible", retriable: false });

    // A v1 record still decodes after the subject moved on to v2.
    const encoded = await registry.encode(v1, { id: "old", amount: 5 });
    expect(await createSchemaRegistry(stack.schemaRegistryUrl).decode(encoded)).toEqual({ id: "old", amount: 5 });
  });

  it("registers a new subject from several clients at once (each sets its compatibility)", async () => {
    // Separate clients: a shared one would answer the later calls from its cache.
    const fresh = `${uniqueName("it-registry-race")}-value`;
    const ids = await Promise.all(
      Array.from({ length: 24 }, () =>
        registerAvroSchema(createSchemaRegistry(stack.schemaRegistryUrl), fresh, orderV1),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    const rejected = await registerAvroSchema(createSchemaRegistry(stack.schemaRegistryUrl), fresh, orderIncompatible)
      .then(() => "registered")
      .catch((e: unknown) => (e as AppError).code);
    expect(rejected).toBe("schema_incompatible");
  });
});
