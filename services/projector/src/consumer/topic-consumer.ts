import type { Logger } from "@sbs/shared";
import type { Consumer, Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { ProjectorMetrics } from "../metrics.ts";
import { nextOffset, nextOffsets } from "../store/positions.ts";
import type { BatchOutcome, BatchProcessor } from "./batch-processor.ts";

export interface TopicConsumerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly pool: Pool;
  readonly process: BatchProcessor;
  /** The generation written; the live projector moves it when a rebuild switched the pointer. */
  readonly generation: { current: number };
  readonly metrics: ProjectorMetrics;
  readonly logger: Logger;
  readonly partitionsConsumedConcurrently: number;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  readonly onCommitted?: (partition: number, outcome: Extract<BatchOutcome, { status: "committed" }>) => void;
}

/**
 * The kafkajs side: a consumer group reading one topic batch by batch per partition. Postgres
 * holds the positions; Kafka's committed offsets only follow them (for lag dashboards): a batch's
 * offsets are resolved after its Postgres commit, never before.
 *
 * Positions: on assignment each partition is sought to the offset stored for the generation; a
 * batch that starts above the stored offset (Kafka ahead of Postgres, or after a generation
 * switch) triggers the same seek. If, right after that seek, the partition still starts above
 * it, the offsets in between do not exist (sparse offsets) and the batch is processed.
 */
export function createTopicConsumer(opts: TopicConsumerOptions) {
  const log = opts.logger.child({ component: "consumer", topic: opts.topic, groupId: opts.groupId });
  let consumer: Consumer | undefined;
  let running = false;
  let crashed: Error | undefined;
  /** Stored next offset per partition as this instance last saw it (a cache, checked in the transaction). */
  const positions = new Map<number, bigint>();
  /** Partitions sought to an offset whose next batch has not come yet. */
  const sought = new Map<number, bigint>();

  const seekTo = (partition: number, offset: bigint) => {
    sought.set(partition, offset);
    consumer?.seek({ topic: opts.topic, partition, offset: offset.toString() });
  };

  const seekAssigned = async (partitions: readonly number[]) => {
    const stored = await nextOffsets(opts.pool, opts.generation.current, opts.topic);
    for (const partition of partitions) {
      const offset = stored.get(partition) ?? 0n;
      positions.set(partition, offset);
      seekTo(partition, offset);
    }
  };

  return {
    get healthy() {
      return running && crashed === undefined;
    },
    async start(): Promise<void> {
      const c = opts.kafka.consumer({
        groupId: opts.groupId,
        allowAutoTopicCreation: false,
        maxBytesPerPartition: opts.maxBytesPerPartition,
        maxBytes: opts.maxBytesPerPartition * 4,
        sessionTimeout: opts.sessionTimeoutMs,
        heartbeatInterval: Math.max(1000, Math.floor(opts.sessionTimeoutMs / 10)),
      });
      consumer = c;
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        positions.clear();
        sought.clear();
        const assigned = payload.memberAssignment[opts.topic] ?? [];
        seekAssigned(assigned).catch((error: unknown) =>
          log.warn({ err: error }, "seeking to stored offsets on assignment failed; batches will seek"),
        );
      });
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart) {
          crashed = payload.error;
          log.error({ err: payload.error }, "consumer crashed and will not restart");
        }
      });
      await c.connect();
      await c.subscribe({ topic: opts.topic, fromBeginning: true });
      await c.run({
        eachBatchAutoResolve: false,
        autoCommitInterval: 5000,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          const first = batch.messages[0];
          if (first === undefined) return;
          const partition = batch.partition;
          let expected = positions.get(partition);
          if (expected === undefined) {
            expected = await nextOffset(opts.pool, opts.generation.current, opts.topic, partition);
            positions.set(partition, expected);
          }
          if (BigInt(first.offset) > expected && sought.get(partition) !== expected) {
            seekTo(partition, expected);
            return;
          }
          sought.delete(partition);
          const outcome = await opts.process({
            topic: opts.topic,
            partition,
            records: batch.messages,
            heartbeat,
            isActive: () => isRunning() && !isStale(),
          });
          if (outcome.status === "generation-changed") {
            log.info({ from: opts.generation.current, to: outcome.generation }, "following the generation pointer");
            opts.generation.current = outcome.generation;
            opts.metrics.generation.set(outcome.generation);
            positions.clear();
            sought.clear();
            seekTo(partition, await nextOffset(opts.pool, outcome.generation, opts.topic, partition));
            return;
          }
          if (outcome.status === "abandoned") return;
          positions.set(partition, outcome.next);
          const lastOffset = batch.messages[batch.messages.length - 1]?.offset;
          if (lastOffset !== undefined && outcome.next > BigInt(lastOffset)) resolveOffset(lastOffset);
          // Everything fetched was below the stored offset (Kafka behind Postgres): jump there.
          if (lastOffset !== undefined && outcome.next > BigInt(lastOffset) + 1n) seekTo(partition, outcome.next);
          opts.metrics.lag.set(
            { topic: opts.topic, partition: String(partition) },
            Math.max(0, Number(BigInt(batch.highWatermark) - outcome.next)),
          );
          opts.onCommitted?.(partition, outcome);
          await commitOffsetsIfNecessary();
        },
      });
      running = true;
    },
    async stop(): Promise<void> {
      running = false;
      await consumer?.disconnect();
    },
  };
}

export type TopicConsumer = ReturnType<typeof createTopicConsumer>;
