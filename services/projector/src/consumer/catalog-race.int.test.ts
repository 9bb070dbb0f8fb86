import { routingKeyOf } from "@sbs/ingest/routing";
import { createPool, migrate, partitionOfKey } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import type { Pool } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { customer, event, price, type RawEvent, subscription } from "../domain/stripe-test-events.ts";
import { MIGRATIONS_DIR } from "../runtime.ts";
import { hookCommits } from "../testing/commit-hook.ts";
import { inProcessPipeline } from "../testing/in-process-pipeline.ts";
import { silent } from "../testing/int-setup.ts";
import { foldedRows, viewRows } from "../testing/projection-rows.ts";
import type { SourceRecord } from "./batch-processor.ts";

/**
 * Catalog changes against the race the catalog requests exist for (README "Partition-parallel
 * writes"): a batch of one partition derives a customer whose new subscription uses a price, while
 * a batch of another partition writes that price (first seen, or changed). One of the two is held
 * open at its COMMIT while the other commits and the supervisor resolves the catalog requests.
 * When the reader is held, its reference becomes visible only once it commits: a resolution that
 * did not wait for every slot's open transaction would miss it, and the customer would keep an MRR
 * computed without the price's tiers, for ever.
 */

const TOPIC = "catalog-race";
const PARTITIONS = 3;
const T = 1_700_000_000;

let pool: Pool;
let drop: () => Promise<void>;
let hold: { armed: boolean; reached: () => void; release: Promise<void> } | undefined;

beforeEach(async () => {
  const url = testStack().databaseUrl;
  const isolated = await isolatedSchema(url);
  drop = isolated.drop;
  await migrate({ url, dir: MIGRATIONS_DIR, schema: isolated.schema, logger: silent });
  pool = createPool({ url, schema: isolated.schema, max: 6, applicationName: "catalog-race" });
  hookCommits(pool, async () => {
    const h = hold;
    if (h?.armed !== true) return "none";
    h.armed = false;
    h.reached();
    await h.release;
    return "none";
  });
});
afterEach(async () => {
  await pool?.end();
  await drop?.();
});

const keyOf = (raw: RawEvent) => routingKeyOf({ data: raw.data } as Parameters<typeof routingKeyOf>[0]) as string;
const partitionOf = (raw: RawEvent) => partitionOfKey(keyOf(raw), PARTITIONS);

function pipeline() {
  const { processor, drain } = inProcessPipeline(pool, { partitions: PARTITIONS, generation: 1, retryMs: 5 });
  const offsets = new Map<number, number>();
  /** One batch of events that all live in one partition, at that partition's next offsets. */
  const run = async (events: readonly RawEvent[]) => {
    const partition = partitionOf(events[0] as RawEvent);
    const from = offsets.get(partition) ?? 0;
    const records: SourceRecord[] = events.map((raw, i) => {
      if (partitionOf(raw) !== partition) throw new Error(`${raw.id} is not in partition ${partition}`);
      return { offset: String(from + i), key: Buffer.from(keyOf(raw)), value: Buffer.from(JSON.stringify(raw)) };
    });
    offsets.set(partition, from + records.length);
    const outcome = await processor({
      topic: TOPIC,
      partition,
      records,
      heartbeat: async () => {},
      isActive: () => true,
    });
    expect(outcome).toMatchObject({ status: "committed", applied: records.length });
  };
  return { run, drain };
}

/**
 * Runs `first` until its COMMIT, then `second` beside it to the end, then the supervisor (which
 * may have to wait for `first`); lets `first` commit 300 ms later.
 */
async function race(first: () => Promise<void>, second: () => Promise<void>, supervise: () => Promise<void>) {
  let reached = () => {};
  let release = () => {};
  const atCommit = new Promise<void>((r) => {
    reached = r;
  });
  hold = { armed: true, reached, release: new Promise<void>((r) => (release = r)) };
  const one = first();
  await atCommit;
  await second();
  const supervising = supervise();
  await new Promise((r) => setTimeout(r, 300));
  release();
  await Promise.all([one, supervising]);
}

const TIERS = [
  { up_to: 10, unit_amount: 100, flat_amount: null },
  { up_to: null, unit_amount: 80, flat_amount: 500 },
];

/** A customer and a tiered price that Kafka puts in different partitions. */
function ids() {
  for (let n = 0; ; n++) {
    const cus = `cus_race${n}`;
    const priceId = `price_race${n}`;
    const c = event("customer.created", T, customer(cus));
    const p = event("price.created", T, price({ id: priceId }));
    if (partitionOf(c) !== partitionOf(p)) return { cus, priceId };
  }
}

function scenario() {
  const { cus, priceId } = ids();
  const tiered = { id: priceId, unit_amount: null, billing_scheme: "tiered" as const, tiers_mode: "volume" as const };
  // A price's tiers never change (only listings carry them); its nickname, the plan name, may.
  const listed = (at: number, fields: { tiers?: typeof TIERS; nickname?: string }) =>
    event("price.updated", at, price({ ...tiered, ...fields }), { id: `evt_${priceId}_${at}`, shape: "basil" });
  const reader = [
    event("customer.created", T, customer(cus), { id: `evt_${cus}` }),
    event(
      "customer.subscription.created",
      T + 10,
      subscription({ id: `sub_${cus}`, customer: cus, items: [{ ...tiered, quantity: 15 }] }, "basil"),
      { id: `evt_sub_${cus}`, shape: "basil" },
    ),
  ];
  return { reader, listed };
}

describe("catalog requests: a price written beside a derivation that reads it", () => {
  it.each([
    { entry: "first seen", held: "reader" },
    { entry: "first seen", held: "writer" },
    { entry: "changed", held: "reader" },
    { entry: "changed", held: "writer" },
  ] as const)(
    "price $entry, the $held held open at COMMIT: the customer's row equals the fold",
    async ({ entry, held }) => {
      const { run, drain } = pipeline();
      const { reader, listed } = scenario();
      // First seen: the writer brings the tiers (MRR) and the nickname. Changed: the tiers were
      // listed before, the writer renames the price (a webhook without tiers).
      const before = entry === "changed" ? [listed(T - 100, { tiers: TIERS })] : [];
      const writer = [
        listed(T + 500, entry === "changed" ? { nickname: "Volume" } : { tiers: TIERS, nickname: "Volume" }),
      ];
      for (const b of before) await run([b]);
      const readSide = () => run(reader);
      const writeSide = () => run(writer);
      const supervise = () => drain.supervise(1, [0, 1, 2]);
      if (held === "reader") await race(readSide, writeSide, supervise);
      else await race(writeSide, readSide, supervise);
      await drain.drainAll(1);

      const expected = foldedRows([...before, ...reader, ...writer]);
      // The writer's price decides the customer's row (else this would race nothing).
      expect(expected).toEqual([expect.objectContaining({ mrr: { usd: 1700 }, plan_name: "Volume" })]);
      expect(await viewRows(pool)).toEqual(expected);
    },
  );
});
