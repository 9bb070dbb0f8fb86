import { routingKeyOf } from "@sbs/ingest/routing";
import { createPool, migrate, partitionOfKey } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import fc from "fast-check";
import type { Pool } from "pg";
import { describe, expect, it } from "vitest";
import type { RawEvent } from "../domain/stripe-test-events.ts";
import { MIGRATIONS_DIR } from "../runtime.ts";
import { type CommitFault, hookCommits } from "../testing/commit-hook.ts";
import { generateHistory } from "../testing/history.ts";
import { inProcessPipeline } from "../testing/in-process-pipeline.ts";
import { silent } from "../testing/int-setup.ts";
import { accounted, foldedRows, offlineMonthlyRows, viewMonthlyRows, viewRows } from "../testing/projection-rows.ts";
import type { BatchInput, SourceRecord } from "./batch-processor.ts";

/**
 * Issue #15's property, against a real Postgres: however the batches of different partitions
 * interleave (several in flight at once, one partition run to its end before another starts, a
 * refund or dispute committed before or after its charge, a price change before or after the
 * subscriptions that use it), with batches redelivered from an earlier offset, transactions
 * aborted before COMMIT and COMMITs whose acknowledgement is lost, and the supervisor's mailbox
 * drain running in between, the committed projection and MRR history equal the fold of all events.
 * Two projector processes share the work, each with its own in-memory fact caches: a partition's
 * batches go to either (a rebalance at every step, if the schedule wants), so a cache that kept
 * what the other process changed since would show in the rows.
 *
 * The consumer is replaced by the schedule (that is the point: it decides the interleaving); the
 * batch processor, the mailbox drain and every SQL statement are the production ones.
 */

const TOPIC = "interleaving";
const PARTITIONS = 3;
const GENERATION = 1;
const RUNS = Number(process.env["FC_RUNS"] ?? 10);
const NOW = Math.floor(Date.now() / 1000);

/** The topic as ingest would write it: each event at the next offset of its key's partition. */
function partitioned(history: readonly RawEvent[]): SourceRecord[][] {
  const logs: SourceRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const raw of history) {
    const key = routingKeyOf({ account: undefined, data: raw.data } as Parameters<typeof routingKeyOf>[0]);
    if (key === undefined) throw new Error(`generated event ${raw.id} has no routing key`);
    const log = logs[partitionOfKey(key, PARTITIONS)] as SourceRecord[];
    log.push({ offset: String(log.length), key: Buffer.from(key), value: Buffer.from(JSON.stringify(raw)) });
  }
  return logs;
}

/** Every COMMIT takes the next fault of the list (then none) while enabled. */
function injectCommitFaults(pool: Pool, faults: CommitFault[]): { enabled: boolean; injected: number } {
  const state = { enabled: true, injected: 0 };
  hookCommits(pool, async () => {
    const fault = state.enabled ? (faults.shift() ?? "none") : "none";
    if (fault !== "none") state.injected++;
    return fault;
  });
  return state;
}

const step = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("batches" as const),
      partitions: fc.subarray([0, 1, 2], { minLength: 1 }),
      redeliver: fc.boolean(),
      // The process each partition's batch runs in.
      on: fc.array(fc.integer({ min: 0, max: 1 }), { minLength: PARTITIONS, maxLength: PARTITIONS }),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("supervise" as const), on: fc.integer({ min: 0, max: 1 }) }),
    weight: 1,
  },
);

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  batchSizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
  schedule: fc.array(step, { maxLength: 60 }),
  faults: fc.array(fc.constantFrom<CommitFault>("none", "none", "abort-before-commit", "lose-commit-ack"), {
    maxLength: 40,
  }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(input: Scenario, runIndex: number) {
  const history = generateHistory({ seed: input.seed, events: 160, customers: 6, prefix: `il${runIndex}` });
  const logs = partitioned(history);
  const url = testStack().databaseUrl;
  const { schema, drop } = await isolatedSchema(url);
  const pool = createPool({ url, schema, max: PARTITIONS + 2, applicationName: "interleaving-property" });
  try {
    await migrate({ url, dir: MIGRATIONS_DIR, schema, logger: silent });
    const faults = injectCommitFaults(pool, [...input.faults]);
    const processes = [0, 1].map(() =>
      inProcessPipeline(pool, { partitions: PARTITIONS, generation: GENERATION, retryMs: 1 }),
    );
    const on = (i: number) => processes[i] as (typeof processes)[number];

    // Per partition: where its next batch starts, and where its previous one started.
    const next = logs.map(() => 0);
    const previous = logs.map(() => 0);
    let cut = 0;
    const runBatch = async (partition: number, redeliver: boolean, instance: number) => {
      const log = logs[partition] as SourceRecord[];
      const from = redeliver ? (previous[partition] as number) : (next[partition] as number);
      const to = Math.min(
        log.length,
        (next[partition] as number) + (input.batchSizes[cut++ % input.batchSizes.length] as number),
      );
      if (from >= to) return;
      const batch: BatchInput = {
        topic: TOPIC,
        partition,
        records: log.slice(from, to),
        heartbeat: async () => {},
        isActive: () => true,
      };
      const outcome = await on(instance).processor(batch);
      expect(outcome).toMatchObject({ status: "committed", next: BigInt(to) });
      previous[partition] = next[partition] as number;
      next[partition] = to;
    };

    for (const s of input.schedule) {
      if (s.kind === "supervise")
        await on(s.on)
          .drain.supervise(GENERATION, [0, 1, 2])
          .catch(() => {});
      else await Promise.all(s.partitions.map((p) => runBatch(p, s.redeliver, s.on[p] ?? 0)));
    }
    // The rest of every partition, all in flight together, as a consumer catching up would run them.
    while (next.some((n, p) => n < (logs[p]?.length ?? 0)))
      await Promise.all(logs.map((_, p) => runBatch(p, false, 0)));
    faults.enabled = false;
    await on(0).drain.drainAll(GENERATION);

    expect(await viewRows(pool)).toEqual(foldedRows(history));
    expect(await viewMonthlyRows(pool)).toEqual(offlineMonthlyRows(history, NOW));
    expect(await accounted(pool, GENERATION, TOPIC)).toEqual({
      applied: history.length,
      deadLettered: 0,
      next: history.length,
    });
    return {
      crossPartition: logs.every((l) => l.length > 0),
      injected: faults.injected,
      cacheHits: processes.reduce((n, p) => n + p.facts.stats.hits, 0),
    };
  } finally {
    await pool.end();
    await drop();
  }
}

describe("partition-parallel writes: any interleaving equals the fold (property, real Postgres)", () => {
  it(
    "per-partition batches in any order and overlap, with redeliveries, aborts and lost acks",
    async () => {
      let runs = 0;
      let injected = 0;
      let cacheHits = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (input) => {
          const outcome = await run(input, runs++);
          injected += outcome.injected;
          cacheHits += outcome.cacheHits;
          expect(outcome.crossPartition).toBe(true);
        }),
        { numRuns: RUNS, endOnFailure: true },
      );
      // The faults were really injected somewhere (not a property that never met an abort).
      expect(injected).toBeGreaterThan(0);
      // And batches really read from the caches (not a property of Postgres reads only).
      expect(cacheHits).toBeGreaterThan(0);
    },
    10 * 60_000,
  );
});
