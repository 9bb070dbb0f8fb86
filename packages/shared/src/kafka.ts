import { type Admin, type ITopicConfig, Kafka, type KafkaConfig, logLevel } from "kafkajs";
import { AppError } from "./errors.ts";
import { bridgeLogs } from "./kafka-logs.ts";
import type { Logger } from "./logger.ts";
import { retry } from "./retry.ts";

export interface KafkaClientConfig {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Overrides for tests and benchmarks (timeouts, retry). */
  overrides?: Partial<KafkaConfig>;
}

export function createKafka(config: KafkaClientConfig): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: bridgeLogs(config.logger),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    ...config.overrides,
  });
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  /** Event topics are the source of truth and keep every record forever. */
  infiniteRetention: boolean;
  configs?: Record<string, string>;
}

/** kafkajs' ConfigResourceTypes.TOPIC and ConfigSource.TOPIC_CONFIG (numeric enums). */
const TOPIC_RESOURCE = 2;
const TOPIC_CONFIG_SOURCE = 1;

export type TopicOutcome = "created" | "exists" | "updated";

function alreadyExists(error: unknown): boolean {
  const e = error as { type?: string; errors?: { type?: string }[] };
  return (
    e.type === "TOPIC_ALREADY_EXISTS" ||
    (e.errors?.length ? e.errors.every((x) => x.type === "TOPIC_ALREADY_EXISTS") : false)
  );
}

/**
 * What every topic is held to. With acks=-1 the leader waits for the in-sync replicas, but
 * "in sync" may shrink to the leader alone unless min.insync.replicas says otherwise: 2 (of 3)
 * means an acknowledged record is on two disks before the producer hears "ok". Unclean leader
 * election would let an out-of-sync replica become leader and silently drop acknowledged records.
 * `replicationFactor` is the topic's actual one for an existing topic (a min.insync.replicas above
 * it would refuse every write).
 */
function desiredConfigs(spec: TopicSpec, replicationFactor = spec.replicationFactor): Record<string, string> {
  return {
    ...(spec.infiniteRetention ? { "retention.ms": "-1", "retention.bytes": "-1" } : {}),
    "min.insync.replicas": String(Math.max(1, Math.min(2, replicationFactor))),
    "unclean.leader.election.enable": "false",
    ...spec.configs,
  };
}

/** Below this, one broker's disk is all that stands between an acknowledged event and its loss. */
export const MIN_DURABLE_REPLICATION = 3;

/**
 * `KAFKA_SINGLE_NODE=true` is the explicit "this is a one-broker development or test stack"
 * setting that lets topics be created with a replication factor below 3. The local stack's env
 * file and the test setup set it; production leaves it unset.
 */
export function singleNodeFromEnv(environment: Record<string, string | undefined> = process.env): boolean {
  return ["true", "1", "yes"].includes((environment["KAFKA_SINGLE_NODE"] ?? "").trim().toLowerCase());
}

export interface EnsureTopicsOptions {
  /** Allows a replication factor below 3; defaults to `KAFKA_SINGLE_NODE` from the environment. */
  singleNode?: boolean;
}

function refuseUnderReplicated(specs: TopicSpec[], singleNode: boolean): void {
  const low = specs.filter((s) => s.replicationFactor < MIN_DURABLE_REPLICATION);
  if (low.length === 0 || singleNode) return;
  throw new AppError(
    "kafka_replication_too_low",
    `topics ${low.map((s) => `${s.topic} (replication factor ${s.replicationFactor})`).join(", ")}: a replication factor below ${MIN_DURABLE_REPLICATION} means an acknowledged event lives on one or two disks only. Set KAFKA_REPLICATION_FACTOR=3 on a real cluster, or KAFKA_SINGLE_NODE=true on a one-broker development/test stack.`,
  );
}

/**
 * Creates missing topics and brings the configs of existing ones in line; running it again
 * changes nothing. A partition count that differs is reported, never changed: adding partitions
 * would move keys to other partitions and break per-customer ordering.
 */
export async function ensureTopics(
  admin: Admin,
  specs: TopicSpec[],
  logger: Logger,
  opts: EnsureTopicsOptions = {},
): Promise<Record<string, TopicOutcome>> {
  refuseUnderReplicated(specs, opts.singleNode ?? singleNodeFromEnv());
  const outcomes: Record<string, TopicOutcome> = {};
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    const topics: ITopicConfig[] = missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.numPartitions,
      replicationFactor: s.replicationFactor,
      configEntries: Object.entries(desiredConfigs(s)).map(([name, value]) => ({ name, value })),
    }));
    try {
      // A broker that has just started may answer with retriable errors while leaders settle.
      await retry(() => admin.createTopics({ topics, waitForLeaders: true }), {
        attempts: 8,
        baseDelayMs: 200,
        maxDelayMs: 3000,
        retriable: (e) => (e as { retriable?: boolean }).retriable === true && !alreadyExists(e),
      });
    } catch (cause) {
      // Another instance (or our own earlier attempt) may have created it: that is success.
      if (!alreadyExists(cause)) {
        throw new AppError(
          "kafka_topic_create_failed",
          `creating topics ${missing.map((s) => s.topic).join(", ")} failed`,
          {
            retriable: true,
            cause,
          },
        );
      }
    }
    for (const s of missing) outcomes[s.topic] = "created";
  }

  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return outcomes;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: TOPIC_RESOURCE, name: s.topic })),
  });
  for (const spec of present) {
    const partitionList = metadata.topics.find((t) => t.name === spec.topic)?.partitions ?? [];
    const partitions = partitionList.length;
    const actualReplication = partitionList[0]?.replicas.length ?? spec.replicationFactor;
    if (actualReplication !== spec.replicationFactor) {
      logger.warn(
        { topic: spec.topic, replicationFactor: actualReplication, wanted: spec.replicationFactor },
        "topic exists with a different replication factor; min.insync.replicas follows the actual one",
      );
    }
    if (actualReplication < MIN_DURABLE_REPLICATION && !(opts.singleNode ?? singleNodeFromEnv())) {
      refuseUnderReplicated([{ ...spec, replicationFactor: actualReplication }], false);
    }
    if (partitions !== spec.numPartitions) {
      logger.warn(
        { topic: spec.topic, partitions, wanted: spec.numPartitions },
        "topic exists with a different partition count; leaving it as is",
      );
    }
    const entries = described.resources.find((r) => r.resourceName === spec.topic)?.configEntries ?? [];
    const current = new Map(entries.map((e) => [e.configName, e.configValue] as const));
    const desired = desiredConfigs(spec, actualReplication);
    const drift = Object.entries(desired).filter(([name, value]) => current.get(name) !== value);
    if (drift.length === 0) {
      outcomes[spec.topic] = "exists";
      continue;
    }
    // alterConfigs replaces a topic's whole override set: keep its other overrides (source 1 = topic config).
    const overrides = Object.fromEntries(
      entries.filter((e) => e.configSource === TOPIC_CONFIG_SOURCE).map((e) => [e.configName, e.configValue]),
    );
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC_RESOURCE,
          name: spec.topic,
          configEntries: Object.entries({ ...overrides, ...desired }).map(([name, value]) => ({
            name,
            value,
          })),
        },
      ],
    });
    logger.info({ topic: spec.topic, changed: drift.map(([n]) => n) }, "topic config updated");
    outcomes[spec.topic] = "updated";
  }
  return outcomes;
}

/**
 * How many partitions a topic has. A topic created a moment ago can briefly answer "does not host
 * this topic-partition" (retriable) while its leaders settle; that is retried, not reported.
 */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const meta = await retry(() => admin.fetchTopicMetadata({ topics: [topic] }), {
    attempts: 8,
    baseDelayMs: 200,
    maxDelayMs: 3000,
    retriable: (e) => (e as { retriable?: boolean }).retriable === true,
  });
  const count = meta.topics[0]?.partitions.length ?? 0;
  if (count === 0) throw new AppError("kafka_topic_missing", `topic ${topic} has no partitions`, { retriable: true });
  return count;
}
