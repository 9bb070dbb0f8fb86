import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, ensureTopics, type TopicSpec } from "./kafka.ts";
import { createLogger } from "./logger.ts";
import { testStack, uniqueName } from "./testing/index.ts";

const stack = testStack();
const logger = createLogger({ service: "test", level: "silent" });
let admin: Admin;

beforeAll(async () => {
  admin = createKafka({ brokers: stack.kafkaBrokers, clientId: "topics-int", logger }).admin();
  await admin.connect();
});
afterAll(() => admin?.disconnect());

/**
 * The value the broker reports once it shows `expected` (or, after a few seconds, whatever it shows):
 * a KRaft broker applies a config change through its metadata log, so a describe right after an
 * alter can still answer the old value (seen on a freshly started CI broker).
 */
async function settledConfig(topic: string, name: string, expected: string): Promise<string | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await topicConfig(topic, name);
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function topicConfig(topic: string, name: string): Promise<string | undefined> {
  const res = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topic }] });
  return res.resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
}

describe("topic provisioning on a real broker", () => {
  it("creates event topics with infinite retention, and a second run changes nothing", async () => {
    const spec: TopicSpec = {
      topic: uniqueName("it-topics"),
      numPartitions: 6,
      replicationFactor: 1,
      infiniteRetention: true,
    };
    expect(await ensureTopics(admin, [spec], logger)).toEqual({ [spec.topic]: "created" });
    expect(await ensureTopics(admin, [spec], logger)).toEqual({ [spec.topic]: "exists" });

    const meta = await admin.fetchTopicMetadata({ topics: [spec.topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(6);
    expect(await topicConfig(spec.topic, "retention.ms")).toBe("-1");
    expect(await topicConfig(spec.topic, "retention.bytes")).toBe("-1");
  });

  it("puts drifted settings back and keeps the topic's other overrides", async () => {
    const spec: TopicSpec = {
      topic: uniqueName("it-topics"),
      numPartitions: 1,
      replicationFactor: 1,
      infiniteRetention: true,
    };
    await ensureTopics(admin, [spec], logger);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: 2,
          name: spec.topic,
          configEntries: [
            { name: "retention.ms", value: "60000" },
            { name: "retention.bytes", value: "-1" },
            { name: "cleanup.policy", value: "delete" },
            { name: "max.message.bytes", value: "2000000" },
          ],
        },
      ],
    });
    expect(await ensureTopics(admin, [spec], logger)).toEqual({ [spec.topic]: "updated" });
    expect(await settledConfig(spec.topic, "retention.ms", "-1")).toBe("-1");
    expect(await settledConfig(spec.topic, "max.message.bytes", "2000000")).toBe("2000000");
  });

  it("never changes the partition count of an existing topic", async () => {
    const topic = uniqueName("it-topics");
    await ensureTopics(admin, [{ topic, numPartitions: 2, replicationFactor: 1, infiniteRetention: true }], logger);
    const outcome = await ensureTopics(
      admin,
      [{ topic, numPartitions: 4, replicationFactor: 1, infiniteRetention: true }],
      logger,
    );
    expect(outcome[topic]).toBe("exists");
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(2);
  });
});

describe("durable acknowledgements", () => {
  it("sets min.insync.replicas = min(2, RF) and disables unclean leader election, and puts them back on drift", async () => {
    const spec: TopicSpec = {
      topic: uniqueName("it-isr"),
      numPartitions: 1,
      replicationFactor: 1,
      infiniteRetention: true,
    };
    await ensureTopics(admin, [spec], logger, { singleNode: true });
    expect(await settledConfig(spec.topic, "min.insync.replicas", "1")).toBe("1");
    expect(await settledConfig(spec.topic, "unclean.leader.election.enable", "false")).toBe("false");
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: 2,
          name: spec.topic,
          configEntries: [
            { name: "retention.ms", value: "-1" },
            { name: "retention.bytes", value: "-1" },
            { name: "unclean.leader.election.enable", value: "true" },
          ],
        },
      ],
    });
    expect(await ensureTopics(admin, [spec], logger, { singleNode: true })).toEqual({ [spec.topic]: "updated" });
    expect(await settledConfig(spec.topic, "unclean.leader.election.enable", "false")).toBe("false");
    expect(await settledConfig(spec.topic, "min.insync.replicas", "1")).toBe("1");
  });

  it("refuses a replication factor below 3 without the single-node setting, naming the fix", async () => {
    const topic = uniqueName("it-isr");
    const attempt = ensureTopics(
      admin,
      [{ topic, numPartitions: 1, replicationFactor: 1, infiniteRetention: true }],
      logger,
      { singleNode: false },
    );
    await expect(attempt).rejects.toMatchObject({ code: "kafka_replication_too_low" });
    await expect(attempt).rejects.toThrow(/KAFKA_SINGLE_NODE=true/);
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
