import type { ReadModelRow } from "@sbs/projector/domain";
import { describe, expect, it } from "vitest";
import { oracleA, oracleB, oracleC, oracleE, type PartitionAccount } from "./oracles.ts";

const row = (id: string, over: Partial<ReadModelRow> = {}): ReadModelRow =>
  ({
    customer_id: id,
    email: `${id}@example.com`,
    deleted: false,
    metadata: {},
    payment_count: 1,
    total_spent: { usd: 100, eur: 5 },
    mrr: {},
    subscription_status: null,
    ...over,
  }) as unknown as ReadModelRow;

describe("oracle A: ack ⊆ log", () => {
  it("counts every acknowledged id missing from the topic, and names it", () => {
    const r = oracleA(["evt_1", "evt_2", "evt_3"], new Set(["evt_1", "evt_3", "evt_9"]));
    expect(r.mismatches).toBe(1);
    expect(r.first).toEqual(["evt_2: acknowledged with 2xx, not in the topic"]);
    expect(oracleA(["evt_1"], new Set(["evt_1"])).mismatches).toBe(0);
  });
});

describe("oracle B: projection == fold", () => {
  it("ignores the key order of jsonb objects but not a differing field", () => {
    const fold = [row("cus_a"), row("cus_b")];
    const same = [row("cus_a", { total_spent: { eur: 5, usd: 100 } }), row("cus_b")];
    expect(oracleB(same, fold).mismatches).toBe(0);
    const r = oracleB([row("cus_a", { payment_count: 2 }), row("cus_b")], fold);
    expect(r.mismatches).toBe(1);
    expect(r.first[0]).toBe("cus_a: projection vs fold: payment_count: 2 != 1");
  });

  it("reports rows missing on either side", () => {
    const r = oracleB([row("cus_a"), row("cus_x")], [row("cus_a"), row("cus_b")]);
    expect(r.first).toEqual(["cus_x: in the projection, not in the fold", "cus_b: in the fold, not in the projection"]);
  });

  it("keeps only the first ten differences but counts them all", () => {
    const fold = Array.from({ length: 25 }, (_, i) => row(`cus_${i}`));
    const r = oracleB(
      fold.map((f) => ({ ...f, email: null })),
      fold,
    );
    expect(r.mismatches).toBe(25);
    expect(r.first).toHaveLength(10);
  });
});

describe("oracle C", () => {
  it("is the count of the desired-state differences", () => {
    expect(oracleC(["cus_a: missing in Brevo"]).mismatches).toBe(1);
    expect(oracleC([]).mismatches).toBe(0);
  });
});

describe("oracle E: accounting and custom events", () => {
  const ok: PartitionAccount[] = [
    { partition: 0, high: 10, next: 10, applied: 9, deadLettered: 1 },
    { partition: 1, high: 5, next: 5, applied: 5, deadLettered: 0 },
  ];
  const event = (type: string, created: number, over: { live?: boolean; customerId?: string | undefined } = {}) => ({
    type,
    created,
    live: true,
    customerId: "cus_1" as string | undefined,
    ...over,
  });
  const topicEvents = new Map([
    ["evt_new", event("invoice.paid", 2000)],
    ["evt_old", event("invoice.paid", 500)],
    ["evt_other", event("charge.succeeded", 2000)],
    ["evt_backfill", event("invoice.paid", 2000, { live: false })],
    ["evt_guest", event("invoice.paid", 2000, { customerId: undefined })],
  ]);
  const base = {
    partitions: ok,
    dlqRecords: 1,
    sent: [{ stripeEventId: "evt_new" }],
    topicEvents,
    mappedTypes: new Set(["invoice.paid"]),
    sendAfter: 1000,
    ledger: new Map([["evt_new", "sent"]]),
  };

  it("holds when every record is applied xor dead-lettered and each live event was sent once", () => {
    expect(oracleE(base).first).toEqual([]);
  });

  it("finds a record neither applied nor dead-lettered, a position short of the log, and a DLQ mismatch", () => {
    const r = oracleE({
      ...base,
      partitions: [{ partition: 0, high: 10, next: 9, applied: 7, deadLettered: 1 }],
      dlqRecords: 2,
    });
    expect(r.first).toEqual([
      "partition 0: next offset 9, high-water mark 10",
      "partition 0: applied 7 + dead-lettered 1 != next offset 9",
      "dead-lettered 1 records, the dead-letter topic holds 2",
    ]);
  });

  it("finds a live event the sink never decided on (not sent, not failed, not claimed)", () => {
    const r = oracleE({ ...base, sent: [], ledger: new Map() });
    expect(r.first).toEqual(["live custom event evt_new (invoice.paid) never reached the ledger"]);
    // Failed (no contact) or claimed and in doubt after a kill: decided, not skipped.
    expect(oracleE({ ...base, sent: [], ledger: new Map([["evt_new", "failed"]]) }).mismatches).toBe(0);
    expect(oracleE({ ...base, sent: [], ledger: new Map([["evt_new", "sending"]]) }).mismatches).toBe(0);
  });

  it("finds custom events sent twice, for history, for unmapped types or for unknown events", () => {
    const r = oracleE({
      ...base,
      sent: ["evt_new", "evt_new", "evt_old", "evt_other", "evt_ghost"].map((stripeEventId) => ({ stripeEventId })),
    });
    expect(r.first).toEqual([
      "custom event for evt_new sent 2 times",
      "custom event for evt_old created 500, before send_after 1000",
      "custom event for evt_other of unmapped type charge.succeeded",
      "custom event for evt_ghost, which is not in the topic",
    ]);
  });
});
