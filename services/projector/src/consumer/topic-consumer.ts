import { createLogThrottle, type Logger } from "@sbs/shared";
import type { Consumer, Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { ProjectorMetrics } from "../metrics.ts";
import { clearHalts, type HaltReason, halts, recordHalt } from "../store/partition-state.ts";
import { type LastRecord, livePointer, storedPositions } from "../store/positions.ts";
import type { BatchOutcome, BatchProcessor } from "./batch-processor.ts";
import { checkPosition, identityMismatch, type Watermarks } from "./position-check.ts";
import { recordFingerprint } from "./record-fingerprint.ts";

export interface TopicConsumerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly pool: Pool;
  readonly process: BatchProcessor;
  /** The generation written; the live projector moves it when a rebuild switched the pointer. */
  readonly generation: { current: number };
  /** Live projector: follow the generation pointer (also while every partition is halted). */
  readonly followPointer: boolean;
  readonly watermarks: (topic: string) => Promise<Map<number, Watermarks>>;
  readonly metrics: ProjectorMetrics;
  readonly logger: Logger;
  readonly partitionsConsumedConcurrently: number;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  /** How often halted partitions and the pointer are looked at again. */
  readonly superviseIntervalMs: number;
  /** Each supervision, after the pointer check: the assigned partitions' mailboxes (mailbox-drain.ts). */
  readonly drainMailbox?: (generation: number, assigned: readonly number[]) => Promise<void>;
  readonly onCommitted?: (partition: number, outcome: Extract<BatchOutcome, { status: "committed" }>) => void;
}

export interface HaltedPartition {
  readonly partition: number;
  readonly reason: HaltReason;
  readonly detail: string;
}

/** Batches in a row that found only records below the stored offset before the position is checked again. */
const SKIP_ONLY_BEFORE_CHECK = 3;

/**
 * The kafkajs side: a consumer group reading one topic batch by batch per partition. Postgres
 * holds the positions; Kafka's committed offsets only follow them (for lag dashboards).
 *
 * Positions are never trusted blindly. On assignment (and after a generation switch) each
 * partition's stored position is checked against the log (position-check.ts): past the end, below
 * the log start, or a last-applied record that is gone or different, and the partition halts:
 * paused, recorded in `partition_halt`, shown by /healthz, /metrics and `pnpm cli status`, while
 * the other partitions go on. Otherwise it seeks there (to the last applied record first, when that
 * record must be read back). The batch processor then proves, inside its transaction, that each
 * batch continues the stored position; when it does not, it asks for a rewind.
 */
export function createTopicConsumer(opts: TopicConsumerOptions) {
  const log = opts.logger.child({ component: "consumer", topic: opts.topic, groupId: opts.groupId });
  const throttle = createLogThrottle(30_000);
  let consumer: Consumer | undefined;
  let running = false;
  let crashed: Error | undefined;
  let supervisor: NodeJS.Timeout | undefined;
  let assigned: readonly number[] = [];
  /** Settles once a partition's position was checked after assignment: batches wait for it. */
  const checked = new Map<number, Promise<void>>();
  /** Offset a partition was sought to; its next batch was fetched from there. */
  const sought = new Map<number, bigint>();
  /** Last applied record to read back before a partition's first batch is applied. */
  const verifying = new Map<number, LastRecord>();
  const halted = new Map<number, HaltedPartition>();
  const skipOnly = new Map<number, number>();

  const seekTo = (partition: number, offset: bigint) => {
    sought.set(partition, offset);
    consumer?.seek({ topic: opts.topic, partition, offset: offset.toString() });
  };

  const at = (partition: number) => ({ generation: opts.generation.current, topic: opts.topic, partition });

  /** Forgets a halt in memory and in /metrics (the partition stays paused until resumed). */
  const forget = (partition: number) => {
    const was = halted.get(partition);
    if (was === undefined) return false;
    halted.delete(partition);
    opts.metrics.halted.remove({ topic: opts.topic, partition: String(partition), reason: was.reason });
    return true;
  };

  const halt = async (partition: number, reason: HaltReason, detail: string) => {
    consumer?.pause([{ topic: opts.topic, partitions: [partition] }]);
    const first = !forget(partition); // a new reason replaces the old one's metric series
    halted.set(partition, { partition, reason, detail });
    verifying.delete(partition);
    opts.metrics.lag.remove({ topic: opts.topic, partition: String(partition) });
    opts.metrics.halted.set({ topic: opts.topic, partition: String(partition), reason }, 1);
    if (first) log.error({ partition, reason, generation: opts.generation.current }, `partition halted: ${detail}`);
    await recordHalt(opts.pool, at(partition), reason, detail).catch((error: unknown) =>
      log.warn({ err: error, partition }, "recording the halt failed; it is retried by the supervisor"),
    );
  };

  const unhalt = (partition: number) => {
    if (!forget(partition)) return;
    consumer?.resume([{ topic: opts.topic, partitions: [partition] }]);
    log.info({ partition }, "partition resumed");
  };

  /** Checks stored positions against the log and seeks (or halts) each partition. */
  const checkPartitions = async (partitions: readonly number[]) => {
    if (partitions.length === 0) return;
    const [stored, marks] = await Promise.all([
      storedPositions(opts.pool, opts.generation.current, opts.topic),
      opts.watermarks(opts.topic),
    ]);
    const resumed: number[] = [];
    for (const partition of partitions) {
      const wm = marks.get(partition);
      if (wm === undefined) continue; // not in the metadata yet: the batches will come back here
      const verdict = checkPosition({ topic: opts.topic, partition }, stored.get(partition), wm);
      skipOnly.delete(partition);
      if (verdict.action === "halt") {
        await halt(partition, verdict.reason, verdict.detail);
        continue;
      }
      resumed.push(partition);
      if (verdict.verify) verifying.set(partition, verdict.verify);
      else verifying.delete(partition);
      seekTo(partition, verdict.from);
    }
    // A halt recorded by an earlier run whose cause is gone (the right topic is back) must not linger in status.
    await clearHalts(opts.pool, { generation: opts.generation.current, topic: opts.topic }, resumed);
  };

  const checkOnAssignment = (partitions: readonly number[]) => {
    const done = checkPartitions(partitions).catch((error: unknown) => {
      // The batches re-check through the processor's contiguity proof; the supervisor retries.
      log.warn({ err: error }, "checking stored positions on assignment failed; retrying shortly");
      for (const p of partitions) checked.delete(p);
    });
    for (const p of partitions) checked.set(p, done);
    return done;
  };

  const followGeneration = async (generation: number) => {
    log.info({ from: opts.generation.current, to: generation }, "following the generation pointer");
    opts.generation.current = generation;
    opts.metrics.generation.set(generation);
    for (const p of [...halted.keys()]) unhalt(p);
    await checkOnAssignment(assigned);
  };

  /** Halts cleared by an operator (accept-gap), a switched pointer, halts whose recording failed. */
  const supervise = async () => {
    if (opts.followPointer) {
      const live = await livePointer(opts.pool);
      if (live !== opts.generation.current) {
        await followGeneration(live);
        return;
      }
    }
    if (opts.drainMailbox && running) {
      await opts
        .drainMailbox(opts.generation.current, assigned)
        .catch((error: unknown) =>
          log.warn({ err: error }, "draining the mailbox failed; retried at the next supervision"),
        );
    }
    const unchecked = assigned.filter((p) => !checked.has(p));
    if (unchecked.length > 0) await checkOnAssignment(unchecked);
    if (halted.size === 0) return;
    const recorded = new Map(
      (await halts(opts.pool, opts.generation.current, opts.topic)).map((h) => [h.partition, h]),
    );
    // A halt whose row is gone was cleared by an operator (or its recording failed): check again.
    const cleared = [...halted.keys()].filter((p) => !recorded.has(p));
    for (const p of cleared) forget(p);
    if (cleared.length > 0) {
      log.info({ partitions: cleared }, "halts cleared; checking those partitions again");
      await checkPartitions(cleared);
      for (const p of cleared) if (!halted.has(p)) consumer?.resume([{ topic: opts.topic, partitions: [p] }]);
    }
  };

  return {
    get healthy() {
      return running && crashed === undefined && halted.size === 0;
    },
    /** Partitions this instance refuses to advance, with the reason and the fix. */
    get halted(): readonly HaltedPartition[] {
      return [...halted.values()].sort((a, b) => a.partition - b.partition);
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
        sought.clear();
        verifying.clear();
        checked.clear();
        assigned = payload.memberAssignment[opts.topic] ?? [];
        // A partition halted before the rebalance may come back: it is checked again like the others.
        for (const p of [...halted.keys()]) unhalt(p);
        void checkOnAssignment(assigned);
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
          const partition = batch.partition;
          await checked.get(partition);
          if (halted.has(partition) || isStale()) return;
          const records = batch.messages;
          const first = records[0];
          if (first === undefined) return;
          const fetchedFrom = sought.get(partition);
          sought.delete(partition);

          const expected = verifying.get(partition);
          if (expected !== undefined) {
            const found =
              BigInt(first.offset) === expected.offset
                ? { offset: expected.offset, fingerprint: recordFingerprint(first.key, first.value) }
                : undefined;
            if (found === undefined || found.fingerprint !== expected.fingerprint) {
              const h = identityMismatch({ topic: opts.topic, partition }, expected, found);
              await halt(partition, h.reason, h.detail);
              return;
            }
            verifying.delete(partition);
          }
          if (fetchedFrom === undefined && !checked.has(partition)) return; // check failed: the supervisor redoes it

          const outcome = await opts.process({
            topic: opts.topic,
            partition,
            records,
            fetchedFrom,
            heartbeat,
            isActive: () => isRunning() && !isStale(),
          });
          if (outcome.status === "generation-changed") {
            await followGeneration(outcome.generation);
            return;
          }
          if (outcome.status === "rewind") {
            throttle(`rewind:${partition}`, (suppressed) =>
              log.warn(
                { partition, to: String(outcome.to), first: first.offset, suppressed },
                "batch does not continue the stored position; reading again from it",
              ),
            );
            seekTo(partition, outcome.to);
            return;
          }
          if (outcome.status === "halted") {
            await halt(partition, outcome.reason, outcome.detail);
            return;
          }
          if (outcome.status === "abandoned") return;
          const lastOffset = batch.messages[batch.messages.length - 1]?.offset;
          if (lastOffset !== undefined && outcome.next > BigInt(lastOffset)) resolveOffset(lastOffset);
          // Everything fetched was below the stored offset (Kafka behind Postgres): jump there. If
          // that keeps happening, the stored offset may be past the log's end: check the position.
          if (lastOffset !== undefined && outcome.next > BigInt(lastOffset) + 1n) {
            const times = (skipOnly.get(partition) ?? 0) + 1;
            skipOnly.set(partition, times);
            if (times >= SKIP_ONLY_BEFORE_CHECK) await checkPartitions([partition]);
            else seekTo(partition, outcome.next);
          } else skipOnly.delete(partition);
          opts.metrics.lag.set(
            { topic: opts.topic, partition: String(partition) },
            Math.max(0, Number(BigInt(batch.highWatermark) - outcome.next)),
          );
          opts.onCommitted?.(partition, outcome);
          await commitOffsetsIfNecessary();
        },
      });
      running = true;
      supervisor = setInterval(() => {
        supervise().catch((error: unknown) => log.warn({ err: error }, "supervising partitions failed"));
      }, opts.superviseIntervalMs);
      supervisor.unref();
    },
    async stop(): Promise<void> {
      running = false;
      if (supervisor) clearInterval(supervisor);
      await consumer?.disconnect();
    },
  };
}

export type TopicConsumer = ReturnType<typeof createTopicConsumer>;
