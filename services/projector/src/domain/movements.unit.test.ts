import { describe, expect, it } from "vitest";
import type { ReadModelOptions } from "./derive.ts";
import { foldAll } from "./fold.ts";
import { collectHistory, monthlyRowsOf } from "./history-of.ts";
import { classifyMovement, type MonthlyMrrRow, parseMonth } from "./movements.ts";
import { PROFITWELL_MRR_RULES } from "./mrr.ts";
import {
  customer,
  decodeAll,
  event,
  type RawEvent,
  type SubscriptionSpec,
  subscription,
} from "./stripe-test-events.ts";

const day = (y: number, m: number, d: number, h = 12) => Date.UTC(y, m - 1, d, h) / 1000;

const sub = (type: string, at: number, spec: Partial<SubscriptionSpec> & { id?: string }): RawEvent =>
  event(type, at, subscription({ id: "sub_1", customer: "cus_1", created: day(2025, 1, 10), ...spec }));

const monthly = (quantity: number, currency = "usd", unit = 1000) => [
  { id: `price_${currency}_${unit}`, unit_amount: unit, currency, quantity },
];

const rowsOf = (raws: readonly RawEvent[], options?: ReadModelOptions, until?: string): MonthlyMrrRow[] => {
  const events = decodeAll([event("customer.created", day(2025, 1, 1), customer("cus_1")), ...raws]);
  return monthlyRowsOf(foldAll(events), collectHistory(events), options, until ? (parseMonth(until) ?? 0) : undefined);
};

/** month, currency, mrr, movement, change: what each table row asserts. */
const brief = (rows: readonly MonthlyMrrRow[]) =>
  rows.map((r) => [r.month.slice(0, 7), r.currency, r.mrr, r.movement, r.change] as const);

describe("classifyMovement", () => {
  it.each([
    [0, 1000, false, "new"],
    [0, 1000, true, "reactivation"],
    [1000, 2000, true, "expansion"],
    [2000, 1000, true, "contraction"],
    [1000, 0, true, "churn"],
    [1000, 1000, true, null],
    [0, 0, true, null],
  ] as const)("%i → %i (paid before: %s) is %s", (previous, current, paid, expected) => {
    expect(classifyMovement(previous, current, paid)).toBe(expected);
  });
});

describe("monthly MRR rows", () => {
  it("new, mid-month upgrade (expansion), downgrade (contraction), churn", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
      sub("customer.subscription.updated", day(2025, 2, 15), { items: monthly(3) }),
      sub("customer.subscription.updated", day(2025, 3, 20), { items: monthly(2) }),
      sub("customer.subscription.deleted", day(2025, 5, 2), { items: monthly(2), status: "canceled" }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 3000, "expansion", 2000],
      ["2025-03", "usd", 2000, "contraction", -1000],
      ["2025-04", "usd", 2000, null, 0],
      ["2025-05", "usd", 0, "churn", -2000],
    ]);
    expect(rows[1]?.previous_mrr).toBe(1000);
    expect(rows[0]?.subscriptions).toBe(1);
  });

  it("only the month end counts: an upgrade undone within the month moves nothing", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
      sub("customer.subscription.updated", day(2025, 2, 3), { items: monthly(5) }),
      sub("customer.subscription.updated", day(2025, 2, 25), { items: monthly(1) }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 1000, null, 0],
    ]);
  });

  it("the month end is the last second of the month, UTC", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 31, 23) + 3599, { items: monthly(1) }),
      sub("customer.subscription.updated", day(2025, 3, 1, 0), { items: monthly(2) }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 1000, null, 0],
      ["2025-03", "usd", 2000, "expansion", 1000],
    ]);
  });

  it("cancel at period end: out at once under Stripe's rules, at the period's end under ProfitWell's", () => {
    const raws = [
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
      sub("customer.subscription.updated", day(2025, 2, 20), { items: monthly(1), cancel_at_period_end: true }),
      sub("customer.subscription.deleted", day(2025, 3, 10), {
        items: monthly(1),
        cancel_at_period_end: true,
        status: "canceled",
      }),
    ];
    expect(brief(rowsOf(raws))).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 0, "churn", -1000],
    ]);
    expect(brief(rowsOf(raws, { mrr: PROFITWELL_MRR_RULES }))).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 1000, null, 0],
      ["2025-03", "usd", 0, "churn", -1000],
    ]);
  });

  it("a trial counts nothing; its conversion is new MRR in the month it converts", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 20), { items: monthly(1), status: "trialing" }),
      sub("customer.subscription.updated", day(2025, 2, 3), { items: monthly(1), status: "active" }),
    ]);
    expect(brief(rows)).toEqual([["2025-02", "usd", 1000, "new", 1000]]);
  });

  it("reactivation: MRR again after a churn, with no rows for the months at 0 between", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
      sub("customer.subscription.deleted", day(2025, 2, 10), { items: monthly(1), status: "canceled" }),
      sub("customer.subscription.created", day(2025, 5, 10), { id: "sub_2", items: monthly(2) }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 0, "churn", -1000],
      ["2025-05", "usd", 2000, "reactivation", 2000],
    ]);
  });

  it("several currencies are tracked apart", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1, "usd") }),
      sub("customer.subscription.created", day(2025, 2, 10), { id: "sub_eur", items: monthly(1, "eur", 900) }),
      sub("customer.subscription.deleted", day(2025, 3, 10), { items: monthly(1, "usd"), status: "canceled" }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "eur", 900, "new", 900],
      ["2025-02", "usd", 1000, null, 0],
      ["2025-03", "eur", 900, null, 0],
      ["2025-03", "usd", 0, "churn", -1000],
    ]);
  });

  it("a yearly plan counts amount / 12", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), {
        items: [{ id: "price_year", unit_amount: 12_000, interval: "year", quantity: 1 }],
      }),
    ]);
    expect(brief(rows)).toEqual([["2025-01", "usd", 1000, "new", 1000]]);
  });

  it("two subscriptions of one customer add up; subscriptions counts them", () => {
    const rows = rowsOf([
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
      sub("customer.subscription.created", day(2025, 1, 12), { id: "sub_2", items: monthly(1) }),
    ]);
    expect(rows.map((r) => [r.mrr, r.subscriptions])).toEqual([[2000, 2]]);
  });

  it("until carries the last MRR forward with no movement", () => {
    const rows = rowsOf(
      [sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) })],
      undefined,
      "2025-03",
    );
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 1000, null, 0],
      ["2025-03", "usd", 1000, null, 0],
    ]);
  });

  it("a backfill snapshot is dated at its own time, a late webhook of an earlier state still counts then", () => {
    const rows = rowsOf([
      event(
        "subscription.snapshot",
        day(2025, 3, 5),
        subscription({ id: "sub_1", customer: "cus_1", items: monthly(2) }),
      ),
      sub("customer.subscription.created", day(2025, 1, 10), { items: monthly(1) }),
    ]);
    expect(brief(rows)).toEqual([
      ["2025-01", "usd", 1000, "new", 1000],
      ["2025-02", "usd", 1000, null, 0],
      ["2025-03", "usd", 2000, "expansion", 1000],
    ]);
  });
});

describe("parseMonth", () => {
  it("reads YYYY-MM and YYYY-MM-DD, rejects the rest", () => {
    expect(parseMonth("2025-03")).toBe(2025 * 12 + 2);
    expect(parseMonth("2025-03-01")).toBe(2025 * 12 + 2);
    expect(parseMonth("2025-13")).toBeNull();
    expect(parseMonth("march")).toBeNull();
  });
});
