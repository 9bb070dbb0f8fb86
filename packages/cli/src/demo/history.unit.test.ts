import { runFold } from "@sbs/projector/fold-cli";
import { describe, expect, it } from "vitest";
import { generateHistory } from "./history.ts";

const options = { customers: 300, days: 365, seed: 7, start: 1_700_000_000 };

describe("generateHistory", () => {
  const events = generateHistory(options);

  it("is deterministic for a seed and different for another", () => {
    expect(generateHistory(options)).toEqual(events);
    expect(generateHistory({ ...options, seed: 8 })).not.toEqual(events);
  });

  it("produces unique event ids in creation order, inside the window", () => {
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    for (let i = 1; i < events.length; i++)
      expect(events[i]?.created).toBeGreaterThanOrEqual(events[i - 1]?.created ?? 0);
    const end = options.start + options.days * 86_400;
    expect(events.every((e) => e.created >= options.start && e.created <= end)).toBe(true);
  });

  it("is made only of events the projector accepts", async () => {
    const rejected: string[] = [];
    const rows: string[] = [];
    async function* lines() {
      for (const e of events) yield JSON.stringify(e);
    }
    const counts = await runFold(
      lines(),
      (row) => rows.push(row),
      (line) => rejected.push(line),
    );
    expect(rejected).toEqual([]);
    expect(counts.folded).toBe(events.length);
    expect(rows).toHaveLength(options.customers);
  });

  it("covers every scenario the pipeline must handle", () => {
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      "customer.created",
      "customer.updated",
      "customer.deleted",
      "customer.subscription.created",
      "customer.subscription.updated",
      "customer.subscription.deleted",
      "customer.subscription.trial_will_end",
      "invoice.paid",
      "invoice.payment_failed",
      "charge.succeeded",
      "charge.failed",
      "charge.refunded",
      "charge.dispute.created",
      "charge.dispute.closed",
      "product.created",
      "price.created",
    ]) {
      expect(types, type).toContain(type);
    }
    const currencies = new Set(
      events.filter((e) => e.type === "charge.succeeded").map((e) => e.data.object["currency"] as string),
    );
    expect([...currencies].sort()).toEqual(["eur", "gbp", "jpy", "usd"]);
  });
});
