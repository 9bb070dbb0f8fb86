import { backoffDelay, createLogThrottle, type Logger } from "@sbs/shared";
import type { IHeaders } from "kafkajs";
import type { Pool, PoolClient } from "pg";
import type { DecodedEvent, ReadModelOptions } from "../domain/index.ts";
import type { ProjectorMetrics } from "../metrics.ts";
import { applyEvents, ReducerError } from "../projection/apply-events.ts";
import { postgresProjectionStore } from "../projection/projection-store.ts";
import { advanceOffset, livePointer, lockGeneration, nextOffset } from "../store/positions.ts";
import type { DeadLetterInput } from "./dead-letter-publisher.ts";
import type { RecordDecoder, RecordOutcome } from "./decode-record.ts";

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
  | { readonly status: "generation-changed"; readonly generation: number };

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
  /** Postgres `synchronous_commit` for batch transactions (see lockGeneration). */
  readonly synchronousCommit: boolean;
}

interface Item {
  readonly record: SourceRecord;
  readonly outcome: RecordOutcome;
}

/**
 * One partition's batch, end to end (patterns 2 and 4): decode every record, publish the poison
 * ones to the DLQ (awaiting the ack), then apply the good events and advance the stored offset in
 * one Postgres transaction. Records below the stored offset are skipped (>=, offsets may be
 * sparse). Transient failures retry the whole batch with backoff, forever, never dead-lettering;
 * a reducer exception reprocesses the batch record by record to find the culprit.
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
        deps.metrics.transientErrors.inc();
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

  /** One attempt: DLQ first (acked), then state + offset in one transaction. */
  const commit = async (input: BatchInput, items: readonly Item[], poison: ReadonlyMap<string, DeadLetterInput>) => {
    const generation = deps.generation();
    const at = { generation, topic: input.topic, partition: input.partition };
    const storedBefore = await nextOffset(deps.pool, generation, input.topic, input.partition);
    const letters = items
      .filter((i) => poison.has(i.record.offset) && BigInt(i.record.offset) >= storedBefore)
      .map((i) => poison.get(i.record.offset) as DeadLetterInput);
    await deps.deadLetters.publish(input.topic, input.partition, letters);

    const client = await deps.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query("BEGIN");
      await lockGeneration(client, generation, deps.synchronousCommit);
      if (deps.followPointer) {
        const live = await livePointer(client);
        if (live !== generation) {
          await rollback(client);
          return { status: "generation-changed", generation: live } as const;
        }
      }
      const stored = await nextOffset(client, generation, input.topic, input.partition);
      const fresh = items.filter((i) => BigInt(i.record.offset) >= stored);
      const last = fresh[fresh.length - 1];
      if (last === undefined) {
        await rollback(client);
        return { status: "committed", next: stored, applied: 0, deadLettered: 0, skipped: items.length } as const;
      }
      const events: DecodedEvent[] = [];
      let deadLettered = 0;
      for (const item of fresh) {
        if (poison.has(item.record.offset) || !item.outcome.ok) deadLettered++;
        else events.push(item.outcome.event);
      }
      const result = await applyEvents(postgresProjectionStore(client, generation), events, deps.readModel);
      const next = BigInt(last.record.offset) + 1n;
      await advanceOffset(client, at, next, { applied: events.length, deadLettered });
      await client.query("COMMIT");
      deps.metrics.customersDerived.inc(result.customersDerived);
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
      await rollback(client);
      if (!(error instanceof ReducerError)) broken = error as Error;
      throw error;
    } finally {
      // A client that failed mid-transaction may have lost its connection: do not reuse it.
      client.release(broken);
    }
  };

  /** Reducer exception somewhere in the batch: one record per transaction, N attempts each. */
  const isolate = async (input: BatchInput, items: readonly Item[], poison: Map<string, DeadLetterInput>) => {
    let total: BatchOutcome | undefined;
    let applied = 0;
    let deadLettered = 0;
    let skipped = 0;
    for (const item of items) {
      let outcome: Awaited<ReturnType<typeof commit>> | undefined;
      for (let attempt = 1; outcome === undefined; attempt++) {
        try {
          outcome = await withRetry(input, () => commit(input, [item], poison));
          if (outcome === undefined) return { status: "abandoned" } as const;
        } catch (error) {
          if (!(error instanceof ReducerError)) throw error;
          if (attempt >= deps.attempts)
            poison.set(item.record.offset, letterOf(item, { errorClass: "reducer", reason: error.message }));
        }
      }
      if (outcome.status !== "committed") return outcome;
      applied += outcome.applied;
      deadLettered += outcome.deadLettered;
      skipped += outcome.skipped;
      total = { status: "committed", next: outcome.next, applied, deadLettered, skipped };
    }
    return total ?? ({ status: "abandoned" } as const);
  };

  return async (input: BatchInput): Promise<BatchOutcome> => {
    const timer = deps.metrics.batchSeconds.startTimer();
    const items = await withRetry(input, () => decodeItems(input.records));
    if (items === undefined) return { status: "abandoned" };
    const poison = new Map<string, DeadLetterInput>();
    for (const item of items) if (!item.outcome.ok) poison.set(item.record.offset, letterOf(item, item.outcome));
    let outcome: BatchOutcome | undefined;
    try {
      outcome = (await withRetry(input, () => commit(input, items, poison))) ?? { status: "abandoned" };
    } catch (error) {
      if (!(error instanceof ReducerError)) throw error;
      log.warn({ topic: input.topic, partition: input.partition, err: error }, "reducer failed; isolating the record");
      outcome = await isolate(input, items, poison);
    }
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
