import { generateHistory } from "@sbs/cli/demo/history";
import { decodeEvent, foldAll, readModels, toReadModelRow } from "@sbs/projector/domain";
import { describe, expect, it } from "vitest";
import { groundTruth } from "./ground-truth.ts";
import { oracleD } from "./oracles.ts";

const history = generateHistory({ customers: 300, seed: 5, start: 1_700_000_000, days: 365 });
const folded = () =>
  readModels(foldAll(history.map((e) => decodeEvent(e)).flatMap((r) => (r.ok ? [r.event] : [])))).map(toReadModelRow);

describe("the generator's independent model (oracle D's ground truth)", () => {
  it("agrees with the projector's pure fold on a whole generated history", () => {
    const result = oracleD(folded(), groundTruth(history));
    expect(result.first).toEqual([]);
    expect(result.mismatches).toBe(0);
  });

  it("is not vacuous: payers, subscribers, MRR, refunds and deletions all occur", () => {
    const truth = [...groundTruth(history).values()];
    expect(truth).toHaveLength(300);
    expect(truth.filter((t) => t.paymentCount > 0).length).toBeGreaterThan(200);
    expect(truth.filter((t) => Object.keys(t.mrr).length > 0).length).toBeGreaterThan(50);
    const statuses = new Set(truth.map((t) => t.subscriptionStatus));
    for (const s of [null, "active", "canceled"]) expect(statuses).toContain(s);
    expect(truth.some((t) => t.deleted)).toBe(true);
  });

  it("catches a fold that lost a payment (the model is computed without the fold)", () => {
    const rows = folded();
    const victim = rows.findIndex((r) => !r.deleted && r.payment_count > 1);
    const tampered = rows.map((r, i) => (i === victim ? { ...r, payment_count: r.payment_count - 1 } : r));
    const result = oracleD(tampered, groundTruth(history));
    expect(result.mismatches).toBe(1);
    expect(result.first[0]).toContain(`${rows[victim]?.customer_id}: fold vs model: paymentCount`);
  });

  it("loses a refund when a refund is missing from the events", () => {
    const withoutRefunds = history.filter((e) => e.type !== "charge.refunded" && e.type !== "refund.created");
    const refunded = history.filter((e) => e.type === "charge.refunded").length;
    expect(refunded).toBeGreaterThan(0);
    expect(oracleD(folded(), groundTruth(withoutRefunds)).mismatches).toBeGreaterThan(0);
  });
});
