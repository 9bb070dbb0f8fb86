import { checkout, inTransaction, type Logger } from "@sbs/shared";
import type { KafkaConfig } from "kafkajs";
import type { ProjectorConfig } from "./config.ts";
import { createTopicConsumer } from "./consumer/topic-consumer.ts";
import { purgeDigests } from "./erasure/purge.ts";
import { createProjectorMetrics } from "./metrics.ts";
import { rebuildInMemory } from "./rebuild-in-memory.ts";
import { createRuntime } from "./runtime.ts";
import { recordGap } from "./store/partition-state.ts";
import { advanceOffset, createGeneration, generationStates, nextOffsets, switchGeneration } from "./store/positions.ts";

export interface RebuildOptions {
  /** Start a new generation even if an unfinished one exists (default: resume it). */
  readonly fresh: boolean;
  /** Move the pointer once caught up (default); false builds and verifies only. */
  readonly switch: boolean;
  readonly progressIntervalMs: number;
}

export interface RebuildDeps {
  readonly config: ProjectorConfig;
  readonly logger: Logger;
  /** Progress and the summary (stderr in the CLI). */
  readonly err: { write(text: string): unknown };
  readonly now?: () => number;
  readonly kafkaOverrides?: Partial<KafkaConfig>;
}

export interface RebuildResult {
  readonly generation: number;
  readonly previous: number | null;
  readonly switched: boolean;
  readonly records: number;
  readonly seconds: number;
}

const duration = (s: number) => {
  const t = Math.max(0, Math.round(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`;
};

/**
 * Rebuild = shadow + swap (pattern 5): folds the topic from offset 0 into a new generation with
 * its own offsets, while the live projector keeps serving the current one. Once every partition
 * reached the high-water mark read at the start, the pointer moves in one transaction (which
 * re-checks those offsets); the previous generation stays, retired, for rollback. The live
 * projector follows the pointer and continues the new generation from its stored offsets.
 */
export async function runRebuild(opts: RebuildOptions, deps: RebuildDeps): Promise<RebuildResult> {
  const { config, err } = deps;
  const now = deps.now ?? Date.now;
  const topic = config.kafka.topic;
  const runtime = createRuntime(
    { ...config, kafka: { ...config.kafka } },
    { logger: deps.logger, ...(deps.kafkaOverrides ? { kafkaOverrides: deps.kafkaOverrides } : {}) },
    "projector-rebuild",
  );
  try {
    await runtime.open();
    const states = await generationStates(runtime.pool);
    const unfinished = [...states].filter(([, s]) => s === "building").map(([g]) => g);
    const resumed = !opts.fresh ? unfinished[unfinished.length - 1] : undefined;
    const generation = resumed ?? (await createGeneration(runtime.pool));
    const previous = [...states].find(([, s]) => s === "live")?.[0] ?? null;

    const admin = runtime.kafka.admin();
    await admin.connect();
    const marks = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const targets = new Map(marks.map((p) => [p.partition, BigInt(p.high)] as const));
    // A rebuild folds the log as it is: offsets already deleted from it (retention, deleteRecords)
    // are recorded as the new generation's gap, said here, and never looked for.
    const before = await nextOffsets(runtime.pool, generation, topic);
    for (const m of marks) {
      const low = BigInt(m.low);
      const from = before.get(m.partition) ?? 0n;
      if (low <= from) continue;
      const at = { generation, topic, partition: m.partition };
      await inTransaction(runtime.pool, async (client) => {
        await recordGap(client, at, from, low - 1n, "rebuild: deleted from the log before this generation");
        await advanceOffset(client, at, low, { applied: 0, deadLettered: 0 });
      });
      err.write(
        `rebuild: ${topic}[${m.partition}] starts at offset ${low}: offsets ${from}..${low - 1n} were deleted from the log (recorded in offset_gap)\n`,
      );
    }
    const start = await nextOffsets(runtime.pool, generation, topic);
    const positions = new Map([...targets.keys()].map((p) => [p, start.get(p) ?? 0n] as const));
    const remaining = () => {
      let left = 0n;
      for (const [p, target] of targets) {
        const at = positions.get(p) ?? 0n;
        if (at < target) left += target - at;
      }
      return Number(left);
    };
    const total = remaining();
    err.write(
      `rebuild: ${resumed ? "resuming" : "building"} generation ${generation} of ${topic} (live: ${previous ?? "none"}), ${total} records to the high-water marks\n`,
    );

    const started = now();
    let lastPrint = started;
    const progress = (final = false) => {
      const done = total - remaining();
      const seconds = (now() - started) / 1000;
      const rate = seconds > 0 ? done / seconds : 0;
      const eta = rate > 0 ? duration(remaining() / rate) : "unknown";
      err.write(
        `rebuild g${generation}: ${done}/${total} records, ${Math.round(rate)}/s, ${final ? `elapsed ${duration(seconds)}` : `ETA ${eta}`}\n`,
      );
    };

    // An empty generation is folded in memory and bulk-loaded; a resumed one (or a history with a
    // reducer exception) goes through the incremental path, batch by batch.
    let pending = total > 0;
    // Nothing applied yet: every stored position is where the log starts (0, or a recorded gap's end).
    const fresh = marks.every((m) => (start.get(m.partition) ?? 0n) <= BigInt(m.low));
    if (pending && fresh) {
      const outcome = await rebuildInMemory({
        kafka: runtime.kafka,
        pool: runtime.pool,
        decode: runtime.decode,
        deadLetters: runtime.deadLetters,
        logger: deps.logger,
        topic,
        groupId: `${config.kafka.groupId}.rebuild.g${generation}`,
        generation,
        attempts: config.deadLetterAttempts,
        readModel: config.readModel,
        synchronousCommit: config.database.synchronousCommit,
        maxBytesPerPartition: config.kafka.maxBytesPerPartition,
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        memoryBudgetBytes: config.rebuildMemoryBudgetBytes,
        targets,
        positions,
        onProgress: () => {
          if (now() - lastPrint >= opts.progressIntervalMs) {
            lastPrint = now();
            progress();
          }
        },
      });
      if (outcome.status === "written") {
        pending = false;
        err.write(
          `rebuild g${generation}: folded in memory, loaded ${outcome.facts} facts and ${outcome.customers} customer rows\n`,
        );
      } else {
        err.write(`rebuild g${generation}: ${outcome.reason}; rebuilding batch by batch instead\n`);
        for (const p of targets.keys()) positions.set(p, start.get(p) ?? 0n);
      }
    }

    if (pending) {
      const metrics = createProjectorMetrics();
      const ref = { current: generation };
      let caughtUp: () => void = () => {};
      const done = new Promise<void>((resolve) => {
        caughtUp = resolve;
      });
      const mailbox = runtime.mailboxDrain(metrics);
      const consumer = createTopicConsumer({
        kafka: runtime.kafka,
        topic,
        groupId: `${config.kafka.groupId}.rebuild.g${generation}`,
        pool: runtime.pool,
        process: runtime.processor(metrics, ref, false),
        drainMailbox: mailbox.supervise,
        generation: ref,
        followPointer: false,
        watermarks: runtime.watermarks,
        superviseIntervalMs: config.superviseIntervalMs,
        metrics,
        logger: deps.logger,
        partitionsConsumedConcurrently: config.kafka.partitionsConcurrency,
        maxBytesPerPartition: config.kafka.maxBytesPerPartition,
        sessionTimeoutMs: config.kafka.sessionTimeoutMs,
        onCommitted: (partition, outcome) => {
          positions.set(partition, outcome.next);
          if (now() - lastPrint >= opts.progressIntervalMs) {
            lastPrint = now();
            progress();
          }
          if (remaining() === 0) caughtUp();
        },
      });
      await consumer.start();
      await done;
      await consumer.stop();
      // Customers other partitions' batches asked a slot to derive again, left after the last batch.
      await mailbox.drainAll(generation);
    }
    progress(true);

    let switched = false;
    if (opts.switch) {
      const { client, release } = await checkout(runtime.pool);
      try {
        await switchGeneration(client, generation, async (db) => {
          const stored = await nextOffsets(db, generation, topic);
          for (const [p, target] of targets) {
            if ((stored.get(p) ?? 0n) < target) throw new Error(`partition ${p} is behind its high-water mark`);
          }
          // An erasure recorded while this generation was folding: it goes live without that person.
          await runtime.erasures.refresh();
          await purgeDigests(db, runtime.erasures.digests(), generation);
        });
        switched = true;
      } finally {
        release();
      }
      err.write(`rebuild: generation ${generation} is live; generation ${previous ?? "none"} kept for rollback\n`);
    }
    return { generation, previous, switched, records: total, seconds: (now() - started) / 1000 };
  } finally {
    await runtime.close();
  }
}
