import { backoffDelay, checkout, createLogThrottle, type Logger } from "@sbs/shared";
import type { IHeaders } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import type { DecodedEvent, ReadModelOptions } from "../domain/index.ts";
import type { ProjectorMetrics } from "../metrics.ts";
import { applyMrrHistory } from "../mrr-history/apply-history.ts";
import { type ApplyScope, applyEvents, ReducerError } from "../projection/apply-events.ts";
import type { FactCaches } from "../projection/fact-cache.ts";
import { advanceOffset, livePointer, nextOffset } from "../store/positions.ts";
import { lockBatch, requestCatalog, requestCharges, type SlotCounts } from "../store/slots.ts";
import type { DeadLetterInput } from "./dead-letter-publisher.ts";
import type { RecordDecoder, RecordOutcome } from "./decode-record.ts";
import { recordFingerprint } from "./record-fingerprint.ts";
import { countCacheReads, localTo, openSlot, requestForeign } from "./slot-scope.ts";
import { deterministicSqlState } from "./sql-errors.ts";

export interface SourceRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: IHeaders | undefined;
}

export interface BatchInput {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly SourceRecord[];
  /**
   * Where the fetch that returned these records started, when the consumer knows it (the first
   * batch after a seek): records the broker skipped between it and the first record do not exist.
   */
  readonly fetchedFrom?: bigint | undefined;
  /** Keeps the group membership alive while a batch waits out a transient failure. */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the partition was taken away: stop retrying. */
  isActive(): boolean;
}

export type BatchOutcome =
  | {
      readonly status: "committed";
      readonly next: bigint;
      readonly applied: number;
      readonly deadLettered: number;
      readonly skipped: number;
    }
  | { readonly status: "abandoned" }
  | { readonly status: "generation-changed"; readonly generation: number }
  /** The batch does not start at the stored offset and nothing proves the offsets between absent: seek there. */
  | { readonly status: "rewind"; readonly to: bigint }
  /** The offsets between the stored one and the batch were deleted from the log: never skip them silently. */
  | { readonly status: "halted"; readonly reason: "below_log_start"; readonly detail: string };

export interface BatchProcessorDeps {
  readonly pool: Pool;
  readonly decode: RecordDecoder;
  readonly deadLetters: {
    publish(topic: string, partition: number, letters: readonly DeadLetterInput[]): Promise<void>;
  };
  readonly metrics: ProjectorMetrics;
  readonly logger: Logger;
  /** The generation this processor writes. */
  readonly generation: () => number;
  /** Live projector: abandon a batch when the pointer names another generation (a rebuild switched). */
  readonly followPointer: boolean;
  /** Deterministic failures are tried this many times before the record is dead-lettered. */
  readonly attempts: number;
  readonly retry: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  readonly readModel: ReadModelOptions;
  /** Postgres `synchronous_commit` for batch transactions (see lockBatch). */
  readonly synchronousCommit: boolean;
  /** The partition's log start offset now (asked only when a batch skips offsets). */
  readonly logStartOffset: (topic: string, partition: number) => Promise<bigint>;
  /** A generation's slot count (store/slots.ts), shared with the mailbox drain. */
  readonly slots: SlotCounts;
  /** The slots' in-memory facts (projection/fact-cache.ts), shared with the mailbox drain. */
  readonly facts: FactCaches;
}

/** A Postgres refusal caused by a record's data (SQLSTATE 22/23): poison, like a reducer exception. */
class DataRejected extends ReducerError {
  constructor(readonly sqlState: string) {
    // The server's message can quote the value (an email, a name): only the code leaves this process.
    super(`Postgres refused the data (SQLSTATE ${sqlState})`);
  }
}

const ABANDONED = { status: "abandoned" } as const;

interface Item {
  readonly record: SourceRecord;
  readonly outcome: RecordOutcome;
}

/**
 * One partition's batch, end to end (patterns 2 and 4): decode every record, publish the poison
 * ones to the DLQ (awaiting the ack), then apply the good events and advance the stored offset in
 * one Postgres transaction. Records below the stored offset are skipped (>=, offsets may be
 * sparse). Transient failures retry the batch with backoff, forever, never dead-lettering; a
 * reducer exception reprocesses the batch record by record to find the culprit.
 */
export function createBatchProcessor(deps: BatchProcessorDeps) {
  const log = deps.logger.child({ component: "batch" });
  const throttle = createLogThrottle(10_000);

  /** Runs `fn` until it succeeds or throws a ReducerError; undefined when the batch was abandoned. */
  const withRetry = async <T>(input: BatchInput, fn: () => Promise<T>): Promise<T | undefined> => {
    for (let attempt = 0; ; attempt++) {
      if (!input.isActive()) return undefined;
      try {
        return await fn();
      } catch (error) {
        if (error instanceof ReducerError) throw error;
        deps.metrics.transientErrors.inc({ code: (error as { code?: unknown }).code?.toString() ?? "unknown" });
        throttle(`${input.topic}:${input.partition}`, (suppressed) =>
          log.warn(
            { err: error, topic: input.topic, partition: input.partition, attempt, suppressed },
            "batch failed; retrying",
          ),
        );
        const until = Date.now() + backoffDelay(Math.min(attempt, 16), deps.retry);
        while (Date.now() < until && input.isActive()) {
          await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, until - Date.now()))));
          await input.heartbeat().catch(() => {});
        }
      }
    }
  };

  const decodeItems = async (records: readonly SourceRecord[]): Promise<Item[]> => {
    const items: Item[] = [];
    for (const record of records) {
      let outcome = await deps.decode(record.value);
      // Deterministic by construction, but the contract is N attempts before a dead letter.
      for (let attempt = 1; !outcome.ok && attempt < deps.attempts; attempt++)
        outcome = await deps.decode(record.value);
      items.push({ record, outcome });
    }
    return items;
  };

  const letterOf = (
    item: Item,
    failure: { errorClass: DeadLetterInput["errorClass"]; reason: string },
  ): DeadLetterInput => ({
    offset: item.record.offset,
    key: item.record.key,
    value: item.record.value,
    headers: item.record.headers,
    attempts: deps.attempts,
    ...failure,
  });

  const rollback = async (client: PoolClient) => {
    await client.query("ROLLBACK").catch(() => {});
  };

  /**
   * Contiguity (pattern 2, lessons from review): the first record applied must be the stored next
   * offset, unless the broker's own answer proves the offsets between absent: the record before it
   * in the same fetch is below the stored offset, or the fetch started at or below it. Anything
   * else (a stale position after lost Postgres commits, a generation switch) is a rewind.
   */
  const proofOfContiguity = (input: BatchInput, first: Item, stored: bigint): "contiguous" | "fetch" | "none" => {
    const firstOffset = BigInt(first.record.offset);
    if (firstOffset === stored) return "contiguous";
    const index = input.records.indexOf(first.record);
    const before = index > 0 ? input.records[index - 1] : undefined;
    if (before !== undefined) return BigInt(before.offset) < stored ? "contiguous" : "none";
    return input.fetchedFrom !== undefined && input.fetchedFrom <= stored ? "fetch" : "none";
  };

  /** One attempt: DLQ first (acked), then state + offset in one transaction. */
  const commit = async (
    input: BatchInput,
    generation: number,
    items: readonly Item[],
    poison: ReadonlyMap<string, DeadLetterInput>,
  ) => {
    const at = { generation, topic: input.topic, partition: input.partition };
    const storedBefore = await nextOffset(deps.pool, generation, input.topic, input.partition);
    const letters = items
      .filter((i) => poison.has(i.record.offset) && BigInt(i.record.offset) >= storedBefore)
      .map((i) => poison.get(i.record.offset) as DeadLetterInput);
    await deps.deadLetters.publish(input.topic, input.partition, letters);
    const slots = await deps.slots(generation);
    const slot = input.partition < slots ? input.partition : null;
    const cache = deps.facts.of(generation, slot, slots);

    const { client, release } = await checkout(deps.pool);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      await lockBatch(client, at, slot, deps.synchronousCommit);
      if (deps.followPointer) {
        const live = await livePointer(client);
        if (live !== generation) {
          await rollback(client);
          return { status: "generation-changed", generation: live } as const;
        }
      }
      const stored = await nextOffset(client, generation, input.topic, input.partition);
      const fresh = items.filter((i) => BigInt(i.record.offset) >= stored);
      const first = fresh[0];
      const last = fresh[fresh.length - 1];
      if (first === undefined || last === undefined) {
        await rollback(client);
        return { status: "committed", next: stored, applied: 0, deadLettered: 0, skipped: items.length } as const;
      }
      const proof = proofOfContiguity(input, first, stored);
      if (proof === "none") {
        await rollback(client);
        return { status: "rewind", to: stored } as const;
      }
      if (proof === "fetch") {
        // The broker answered a fetch from `stored` with a later record: either those offsets hold
        // no records (transaction markers, compaction), or they were deleted (log start moved).
        const low = await deps.logStartOffset(input.topic, input.partition);
        if (low > stored) {
          await rollback(client);
          return {
            status: "halted",
            reason: "below_log_start",
            detail: `offsets ${stored}..${low - 1n} of ${input.topic}[${input.partition}] were deleted before generation ${generation} applied them`,
          } as const;
        }
        deps.metrics.offsetGaps.inc({ reason: "sparse" });
        throttle(`sparse:${input.topic}:${input.partition}`, (suppressed) =>
          log.info(
            {
              topic: input.topic,
              partition: input.partition,
              from: String(stored),
              to: first.record.offset,
              suppressed,
            },
            "offsets without records (transaction markers or compaction); continuing after them",
          ),
        );
      }
      const events: DecodedEvent[] = [];
      let deadLettered = 0;
      for (const item of fresh) {
        if (poison.has(item.record.offset) || !item.outcome.ok) deadLettered++;
        else events.push(item.outcome.event);
      }
      // Customers other batches asked this slot to derive again, and which customers are ours.
      // Customers referencing a catalog entry this batch changes are asked for by the supervisor
      // once every transaction open beside this one has ended (README "Partition-parallel writes").
      const opened = await openSlot(client, generation, slot, cache);
      const scope: ApplyScope = {
        locality: localTo(slot, slots),
        also: opened.requested,
        catalogReferences: "defer",
      };
      const result = await applyEvents(opened.store, events, deps.readModel, undefined, scope);
      const history = await applyMrrHistory(client, generation, events, deps.readModel, scope);
      await requestForeign(client, generation, slots, [result.foreign, history.foreign]);
      await requestCharges(client, generation, result.orphanCharges);
      await requestCatalog(client, generation, result.changedCatalog);
      const next = BigInt(last.record.offset) + 1n;
      await advanceOffset(
        client,
        at,
        next,
        { applied: events.length, deadLettered },
        { offset: BigInt(last.record.offset), fingerprint: recordFingerprint(last.record.key, last.record.value) },
      );
      await client.query("COMMIT");
      opened.commit();
      countCacheReads(deps.metrics, deps.facts, opened.reads);
      deps.metrics.customersDerived.inc(result.customersDerived);
      if (result.customersFailed > 0) {
        deps.metrics.deriveFailures.inc(result.customersFailed);
        log.warn(
          { topic: input.topic, partition: input.partition, customers: result.customersFailed },
          "deriving some customers threw; they keep their previous row (table derive_failure)",
        );
      }
      for (const item of fresh) {
        const letter = poison.get(item.record.offset);
        if (letter) deps.metrics.deadLetters.inc({ error_class: letter.errorClass });
      }
      return {
        status: "committed",
        next,
        applied: events.length,
        deadLettered,
        skipped: items.length - fresh.length,
      } as const;
    } catch (error) {
      // What the transaction did is unknown (a lost COMMIT acknowledgement may hide a commit).
      cache?.reset();
      await rollback(client);
      const sqlState = deterministicSqlState(error);
      if (sqlState !== undefined) throw new DataRejected(sqlState);
      if (!(error instanceof ReducerError)) broken = error as Error;
      throw error;
    } finally {
      // A client that failed mid-transaction may have lost its connection: do not reuse it.
      release(broken);
    }
  };

  /**
   * One transaction's records, retried while transient. A reducer exception (or a refusal by
   * Postgres) in a run of several records reprocesses the run one record per transaction, N
   * attempts each, to find the culprit and dead-letter it alone.
   */
  const commitRun = async (
    input: BatchInput,
    generation: number,
    run: readonly Item[],
    poison: Map<string, DeadLetterInput>,
  ): Promise<BatchOutcome> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await withRetry(input, () => commit(input, generation, run, poison))) ?? ABANDONED;
      } catch (error) {
        if (!(error instanceof ReducerError)) throw error;
        const [only, ...others] = run;
        if (only === undefined) throw error;
        if (others.length > 0) {
          log.warn(
            { topic: input.topic, partition: input.partition, error: error.message },
            "a record was refused (reducer or Postgres); isolating it",
          );
          return commitInOrder(
            input,
            generation,
            run.map((item) => [item]),
            poison,
          );
        }
        if (attempt >= deps.attempts) {
          const errorClass = error instanceof DataRejected ? "database_rejected" : "reducer";
          poison.set(only.record.offset, letterOf(only, { errorClass, reason: error.message }));
        }
      }
    }
  };

  /** Runs commit one after the other; the first that does not commit ends the batch (positions say where). */
  const commitInOrder = async (
    input: BatchInput,
    generation: number,
    runs: readonly (readonly Item[])[],
    poison: Map<string, DeadLetterInput>,
  ): Promise<BatchOutcome> => {
    let total: BatchOutcome = ABANDONED;
    let applied = 0;
    let deadLettered = 0;
    let skipped = 0;
    for (const run of runs) {
      const outcome = await commitRun(input, generation, run, poison);
      if (outcome.status !== "committed") return outcome;
      applied += outcome.applied;
      deadLettered += outcome.deadLettered;
      skipped += outcome.skipped;
      total = { status: "committed", next: outcome.next, applied, deadLettered, skipped };
    }
    return total;
  };

  return async (input: BatchInput): Promise<BatchOutcome> => {
    // The generation is fixed for the whole batch: a switch seen by another partition meanwhile
    // must not redirect this batch's records into a generation whose positions they do not follow.
    const generation = deps.generation();
    const timer = deps.metrics.batchSeconds.startTimer();
    const items = await withRetry(input, () => decodeItems(input.records));
    if (items === undefined) return ABANDONED;
    const poison = new Map<string, DeadLetterInput>();
    for (const item of items) if (!item.outcome.ok) poison.set(item.record.offset, letterOf(item, item.outcome));
    const outcome = await commitRun(input, generation, items, poison);
    if (outcome.status === "committed") {
      timer();
      deps.metrics.records.inc({ outcome: "applied" }, outcome.applied);
      deps.metrics.records.inc({ outcome: "dead_lettered" }, outcome.deadLettered);
      deps.metrics.records.inc({ outcome: "skipped" }, outcome.skipped);
      deps.metrics.lastCommit.set(Date.now() / 1000);
    }
    return outcome;
  };
}

export type BatchProcessor = ReturnType<typeof createBatchProcessor>;
