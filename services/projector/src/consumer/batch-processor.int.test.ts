import { Writable } from "node:stream";
import { createLogger, createPool, migrate } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import type { Pool } from "pg";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_READ_MODEL_OPTIONS } from "../domain/index.ts";
import { customer, event, type RawEvent } from "../domain/stripe-test-events.ts";
import { createProjectorMetrics } from "../metrics.ts";
import { createFactCaches } from "../projection/fact-cache.ts";
import { MIGRATIONS_DIR } from "../runtime.ts";
import { advanceOffset, nextOffset } from "../store/positions.ts";
import { silent } from "../testing/int-setup.ts";
import { decodeJsonRecord } from "../testing/json-record-decoder.ts";
import { type BatchInput, createBatchProcessor, type SourceRecord } from "./batch-processor.ts";
import type { DeadLetterInput } from "./dead-letter-publisher.ts";

/**
 * The batch processor's position rules against a real Postgres: a batch must continue the stored
 * offset, or the broker's own answer must prove the offsets between empty. Records carry the
 * Stripe event JSON as their value (decoding is tested elsewhere; positions are what matter here).
 */

const TOPIC = "batch-processor-int";
const PARTITION = 0;
let pool: Pool;
let drop: () => Promise<void>;
let schemaName: string;

beforeEach(async () => {
  await drop?.();
  await pool?.end();
  const url = testStack().databaseUrl;
  ({ schema: schemaName, drop } = await isolatedSchema(url));
  await migrate({ url, dir: MIGRATIONS_DIR, schema: schemaName, logger: silent });
  pool = createPool({ url, schema: schemaName, applicationName: "batch-processor-int" });
});
afterAll(async () => {
  await pool?.end();
  await drop?.();
});

function setup(opts: { logStart?: bigint; generation?: () => number; logs?: string[] } = {}) {
  const letters: DeadLetterInput[] = [];
  const metrics = createProjectorMetrics();
  const processor = createBatchProcessor({
    pool,
    decode: decodeJsonRecord,
    deadLetters: {
      async publish(_topic, _partition, published) {
        letters.push(...published);
      },
    },
    metrics,
    logger: opts.logs
      ? createLogger({
          service: "batch-int",
          level: "debug",
          destination: new Writable({
            write(chunk, _encoding, done) {
              opts.logs?.push(String(chunk));
              done();
            },
          }),
        })
      : silent,
    generation: opts.generation ?? (() => 1),
    followPointer: true,
    attempts: 2,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    readModel: DEFAULT_READ_MODEL_OPTIONS,
    synchronousCommit: true,
    facts: createFactCaches(1000),
    logStartOffset: async () => opts.logStart ?? 0n,
    slots: async () => 1,
  });
  return { processor, letters, metrics };
}

const record = (offset: number, raw: RawEvent): SourceRecord => ({
  offset: String(offset),
  key: Buffer.from(`platform:${String(raw.data.object["id"])}`),
  value: Buffer.from(JSON.stringify(raw)),
});

const created = (id: string, fields: Record<string, unknown> = {}) =>
  event("customer.created", 1_700_000_100, customer(id, fields), { id: `evt_${id}` });

const batch = (records: SourceRecord[], fetchedFrom?: bigint): BatchInput => ({
  topic: TOPIC,
  partition: PARTITION,
  records,
  fetchedFrom,
  heartbeat: async () => {},
  isActive: () => true,
});

const storeAt = async (next: bigint) => {
  const client = await pool.connect();
  try {
    await advanceOffset(client, { generation: 1, topic: TOPIC, partition: PARTITION }, next, {
      applied: Number(next),
      deadLettered: 0,
    });
  } finally {
    client.release();
  }
};

const customers = async () =>
  (await pool.query<{ customer_id: string }>("SELECT customer_id FROM customer_metrics ORDER BY 1")).rows.map(
    (r) => r.customer_id,
  );

describe("batch processor: contiguity", () => {
  it("stored 5, a batch of 10–12 from an unknown fetch position: nothing is committed, a rewind to 5 is asked", async () => {
    await storeAt(5n);
    const { processor } = setup();
    const outcome = await processor(batch([10, 11, 12].map((o) => record(o, created(`cus_r${o}`)))));
    expect(outcome).toEqual({ status: "rewind", to: 5n });
    expect(await nextOffset(pool, 1, TOPIC, PARTITION)).toBe(5n);
    expect(await customers()).toEqual([]);
  });

  it("a batch fetched from the stored offset that starts later: the offsets between hold no records, it commits", async () => {
    await storeAt(5n);
    const { processor, metrics } = setup({ logStart: 0n });
    const outcome = await processor(
      batch(
        [10, 11, 12].map((o) => record(o, created(`cus_s${o}`))),
        5n,
      ),
    );
    expect(outcome).toMatchObject({ status: "committed", next: 13n, applied: 3 });
    expect(await customers()).toEqual(["cus_s10", "cus_s11", "cus_s12"]);
    expect((await metrics.offsetGaps.get()).values).toEqual([
      expect.objectContaining({ labels: { reason: "sparse" }, value: 1 }),
    ]);
  });

  it("a batch fetched from the stored offset when the log start moved past it: halted, never skipped", async () => {
    await storeAt(5n);
    const { processor } = setup({ logStart: 10n });
    const outcome = await processor(
      batch(
        [10, 11, 12].map((o) => record(o, created(`cus_h${o}`))),
        5n,
      ),
    );
    expect(outcome).toMatchObject({ status: "halted", reason: "below_log_start" });
    expect(await nextOffset(pool, 1, TOPIC, PARTITION)).toBe(5n);
    expect(await customers()).toEqual([]);
  });

  it("the record before the stored offset in the same fetch proves the gap after it empty", async () => {
    await storeAt(5n);
    const { processor } = setup();
    const outcome = await processor(batch([3, 4, 7].map((o) => record(o, created(`cus_p${o}`)))));
    expect(outcome).toMatchObject({ status: "committed", next: 8n, applied: 1, skipped: 2 });
    expect(await customers()).toEqual(["cus_p7"]);
  });

  it("a batch committed into another generation than the one it started in is refused", async () => {
    await storeAt(2n);
    let generation = 1;
    const { processor } = setup({ generation: () => generation });
    // The pointer names generation 1; the batch captured generation 1; another partition then
    // moves the shared generation to 2 while this batch decodes: it must still write 1 or nothing.
    const input = batch([2, 3].map((o) => record(o, created(`cus_g${o}`))));
    const running = processor({
      ...input,
      isActive: () => {
        generation = 2;
        return true;
      },
    });
    expect(await running).toMatchObject({ status: "committed", next: 4n });
    expect(generation).toBe(2);
    const { rows } = await pool.query("SELECT generation, next_offset FROM processed_offset");
    expect(rows).toEqual([{ generation: 1, next_offset: "4" }]);
  });
});

describe("batch processor: data Postgres refuses", () => {
  it("a record Postgres refuses on every attempt (SQLSTATE 22P05) is dead-lettered; the rest commits; no PII is logged", async () => {
    // The test decoder keeps strings as they are (the real one stores U+0000 as U+FFFD, see
    // storable-text.ts): this is what any data error Postgres raises (class 22/23) goes through.
    const logs: string[] = [];
    const { processor, letters } = setup({ logs });
    const outcome = await processor(
      batch([
        record(0, created("cus_ok1")),
        record(1, created("cus_nul", { name: "Ada\u0000Lovelace", email: "ada.secret@example.com" })),
        record(2, created("cus_ok2")),
      ]),
    );
    expect(outcome).toMatchObject({ status: "committed", next: 3n, applied: 2, deadLettered: 1 });
    expect(await customers()).toEqual(["cus_ok1", "cus_ok2"]);
    expect(letters.map((l) => [l.offset, l.errorClass, l.reason, l.attempts])).toEqual([
      ["1", "database_rejected", "Postgres refused the data (SQLSTATE 22P05)", 2],
    ]);
    const { rows } = await pool.query("SELECT applied_count, dead_lettered_count FROM processed_offset");
    expect(rows).toEqual([{ applied_count: "2", dead_lettered_count: "1" }]);
    expect(logs.length).toBeGreaterThan(0);
    const text = logs.join("");
    expect(text).not.toContain("ada.secret");
    expect(text).not.toContain("Lovelace");
  });
});
