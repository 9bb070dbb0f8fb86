import { checkout, type Logger } from "@sbs/shared";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { DeadLetterInput } from "./consumer/dead-letter-publisher.ts";
import type { RecordDecoder } from "./consumer/decode-record.ts";
import { collectHistory } from "./domain/history-of.ts";
import {
  catalogOf,
  customerFactsOf,
  type DecodedEvent,
  deriveCustomer,
  emptyState,
  type FoldState,
  foldAsync,
  type ReadModelOptions,
} from "./domain/index.ts";
import type { HistoryState } from "./domain/subscription-history.ts";
import { deriveAllHistories, writeAllHistories } from "./mrr-history/bulk-history.ts";
import { recordingCatalogOver } from "./projection/recording-catalog.ts";
import {
  type DeriveFailure,
  type ProjectionWrite,
  recordDeriveOutcomes,
  writeProjections,
} from "./store/customer-store.ts";
import { writeFacts } from "./store/fact-store.ts";
import { advanceOffset, lockGeneration } from "./store/positions.ts";
import { forgetSlotMarkers } from "./store/slots.ts";
import { FACT_KINDS, STATE_KEY } from "./store/tables.ts";

/**
 * The fast path of a rebuild into an empty generation: read every partition up to the
 * high-water marks read at the start, fold the events in memory with the domain's own fold (the
 * same code `pnpm cli fold` and the oracle use), derive every customer, then bulk-load facts,
 * rows and per-partition offsets into the generation in one transaction. Nothing is committed
 * to Kafka: the generation's offsets live in Postgres only.
 *
 * Poison records are dead-lettered exactly as the incremental path does (the publisher skips
 * those already sent, so a rebuild only counts them). A fold exception makes the outcome depend
 * on how records are isolated one by one, which only the incremental path does: the fast path
 * then gives up before writing anything, and the caller falls back to it. A derivation that
 * throws concerns one customer: it is recorded in derive_failure, as the incremental path does.
 */

export type InMemoryOutcome =
  | { readonly status: "written"; readonly facts: number; readonly customers: number }
  | { readonly status: "reducer-error"; readonly reason: string }
  /** The fold outgrew the memory budget: nothing was written; the caller continues batch by batch. */
  | { readonly status: "over-budget"; readonly reason: string };

export interface InMemoryDeps {
  readonly kafka: Kafka;
  readonly pool: Pool;
  readonly decode: RecordDecoder;
  readonly deadLetters: {
    publish(topic: string, partition: number, letters: readonly DeadLetterInput[]): Promise<void>;
  };
  readonly logger: Logger;
  readonly topic: string;
  readonly groupId: string;
  readonly generation: number;
  readonly attempts: number;
  readonly readModel: ReadModelOptions;
  readonly synchronousCommit: boolean;
  readonly maxBytesPerPartition: number;
  readonly sessionTimeoutMs: number;
  /** Heap size past which the in-memory fold gives up (the whole fold is held until the bulk load). */
  readonly memoryBudgetBytes: number;
  /** Heap in use now (injectable for tests). */
  readonly heapUsed?: () => number;
  /** High-water mark per partition: records at or above it are left to the live projector. */
  readonly targets: ReadonlyMap<number, bigint>;
  /** Updated as records are read (progress output). */
  readonly positions: Map<number, bigint>;
  readonly onProgress: () => void;
}

/** A push-fed async iterable: the consumer pushes decoded batches, the fold pulls events. */
function channel<T>() {
  const queue: T[][] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(items: T[]) {
      queue.push(items);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const items = queue.shift();
        if (items !== undefined) {
          yield* items;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}

const WRITE_CHUNK = 4000;

export async function rebuildInMemory(deps: InMemoryDeps): Promise<InMemoryOutcome> {
  const log = deps.logger.child({ component: "rebuild-in-memory", generation: deps.generation });
  const { topic, targets, positions } = deps;
  const counts = new Map<number, { applied: number; deadLettered: number }>();
  for (const p of targets.keys()) counts.set(p, { applied: 0, deadLettered: 0 });
  const done = () => [...targets].every(([p, target]) => (positions.get(p) ?? 0n) >= target);

  const events = channel<DecodedEvent>();
  // The MRR history's snapshot sets, gathered beside the fold (issue #17).
  const history: HistoryState = new Map();
  const heapUsed = deps.heapUsed ?? (() => process.memoryUsage().heapUsed);
  let overBudget: string | undefined;
  let foldError: Error | undefined;
  const folding = foldAsync(events, emptyState()).catch((error: unknown) => {
    foldError = error instanceof Error ? error : new Error(String(error));
    return undefined;
  });

  // 1. Read, decode and fold. The consumer only reads: no offsets are committed to Kafka.
  if (!done()) {
    const consumer = deps.kafka.consumer({
      groupId: deps.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: deps.maxBytesPerPartition,
      maxBytes: deps.maxBytesPerPartition * 4,
      sessionTimeout: deps.sessionTimeoutMs,
      heartbeatInterval: Math.max(1000, Math.floor(deps.sessionTimeoutMs / 10)),
    });
    let finished: () => void = () => {};
    let failed: (error: Error) => void = () => {};
    const finishedReading = new Promise<void>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const partition of payload.memberAssignment[topic] ?? [])
        consumer.seek({ topic, partition, offset: (positions.get(partition) ?? 0n).toString() });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) failed(payload.error);
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          const partition = batch.partition;
          const target = targets.get(partition) ?? 0n;
          const at = positions.get(partition) ?? 0n;
          const good: DecodedEvent[] = [];
          const letters: DeadLetterInput[] = [];
          let next = at;
          for (const message of batch.messages) {
            const offset = BigInt(message.offset);
            resolveOffset(message.offset);
            // Below: already read (a redelivery after a rebalance). At or above the target: the live projector's.
            if (offset < at || offset >= target) continue;
            let outcome = await deps.decode(message.value);
            for (let attempt = 1; !outcome.ok && attempt < deps.attempts; attempt++)
              outcome = await deps.decode(message.value);
            if (outcome.ok) good.push(outcome.event);
            else
              letters.push({
                offset: message.offset,
                key: message.key,
                value: message.value,
                headers: message.headers,
                attempts: deps.attempts,
                errorClass: outcome.errorClass,
                reason: outcome.reason,
              });
            next = offset + 1n;
          }
          if (next === at) {
            if (at >= target) consumer.pause([{ topic, partitions: [partition] }]);
            return;
          }
          await deps.deadLetters.publish(topic, partition, letters);
          events.push(good);
          collectHistory(good, history);
          const c = counts.get(partition);
          if (c) {
            c.applied += good.length;
            c.deadLettered += letters.length;
          }
          positions.set(partition, next);
          deps.onProgress();
          await heartbeat();
          if (next >= target) consumer.pause([{ topic, partitions: [partition] }]);
          const heap = heapUsed();
          if (heap > deps.memoryBudgetBytes) {
            overBudget = `the in-memory fold reached ${Math.round(heap / 2 ** 20)} MB of heap, over the budget of ${Math.round(deps.memoryBudgetBytes / 2 ** 20)} MB (REBUILD_MEMORY_BUDGET_MB)`;
          }
          if (done() || foldError || overBudget) finished();
        },
      });
      await finishedReading;
    } finally {
      await consumer.disconnect();
    }
  }
  events.end();
  const state = await folding;
  if (overBudget !== undefined) {
    log.warn({ reason: overBudget }, "giving up the in-memory rebuild");
    return { status: "over-budget", reason: overBudget };
  }
  if (state === undefined || foldError) {
    log.warn({ err: foldError }, "the fold threw; falling back to the incremental rebuild");
    return { status: "reducer-error", reason: String(foldError?.message) };
  }

  // 2. Derive every customer, recording the catalog entries each derivation looks up.
  const rows: ProjectionWrite[] = [];
  const recording = recordingCatalogOver(catalogOf(state));
  const failed: DeriveFailure[] = [];
  for (const facts of customerFactsOf(state)) {
    recording.reset();
    try {
      rows.push({
        model: deriveCustomer(facts, recording.catalog, deps.readModel),
        catalogRefs: [...recording.refs].sort(),
      });
    } catch (error) {
      // As in the incremental path: that customer has no row (and is reported), the others do.
      const reason = `deriving threw: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
      failed.push({ customerId: facts.customerId, reason });
      log.warn({ customer: facts.customerId, reason }, "a derivation threw; the customer is left out (derive_failure)");
    }
  }

  const histories = deriveAllHistories(state, history, deps.readModel);

  // 3. Bulk-load facts, rows and offsets in one transaction: all or nothing.
  const { client, release } = await checkout(deps.pool);
  let broken: Error | undefined;
  let facts = 0;
  try {
    await client.query("BEGIN");
    await lockGeneration(client, deps.generation, deps.synchronousCommit);
    // Written without any slot's lock: no slot's cache may outlive it (projection/fact-cache.ts).
    await forgetSlotMarkers(client, [deps.generation]);
    for (const kind of FACT_KINDS) {
      const entries = [...(state as FoldState)[STATE_KEY[kind]].entries()];
      facts += entries.length;
      for (let i = 0; i < entries.length; i += WRITE_CHUNK) {
        const chunk = entries.slice(i, i + WRITE_CHUNK).map(([id, fact]) => ({ id, fact }));
        await writeFacts(client, deps.generation, new Map([[kind, chunk]]));
      }
    }
    for (let i = 0; i < rows.length; i += WRITE_CHUNK)
      await writeProjections(client, deps.generation, rows.slice(i, i + WRITE_CHUNK));
    await writeAllHistories(client, deps.generation, histories);
    await recordDeriveOutcomes(client, deps.generation, failed, []);
    for (const [partition, c] of counts) {
      const next = positions.get(partition) ?? 0n;
      if (next === 0n) continue;
      await advanceOffset(client, { generation: deps.generation, topic, partition }, next, c);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    broken = error as Error;
    throw error;
  } finally {
    release(broken);
  }
  return { status: "written", facts, customers: rows.length };
}
