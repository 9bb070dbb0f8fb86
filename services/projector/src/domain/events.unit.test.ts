import { describe, expect, it } from "vitest";
import { type DecodedEvent, decodeEvent } from "./events.ts";
import type { ObjectSnapshot } from "./snapshots.ts";
import { charge, customer, event, invoice, subscription } from "./stripe-test-events.ts";

const T = 1_700_000_000;

const decoded = (raw: unknown): DecodedEvent => {
  const result = decodeEvent(raw);
  if (!result.ok) throw new Error(result.reason);
  return result.event;
};
const snapshotOf = (raw: unknown): ObjectSnapshot => {
  const e = decoded(raw);
  if (e.outcome !== "snapshot") throw new Error(`ignored: ${e.reason}`);
  return e.snapshot;
};

describe("decodeEvent: envelope", () => {
  it.each([
    ["not an object", "hello", "event"],
    ["no id", { type: "customer.created", created: T, data: { object: {} } }, "event.id"],
    ["no type", { id: "evt_1", created: T, data: { object: {} } }, "event.type"],
    [
      "created in milliseconds is not an integer second",
      { id: "evt_1", type: "x", created: 1.5, data: { object: {} } },
      "event.created",
    ],
    ["negative created", { id: "evt_1", type: "x", created: -1, data: { object: {} } }, "event.created"],
    ["no data.object", { id: "evt_1", type: "x", created: T, data: {} }, "event.data.object"],
  ])("refuses %s", (_name, raw, where) => {
    const result = decodeEvent(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(where);
  });

  it("refuses a known object kind whose fields have the wrong type", () => {
    const result = decodeEvent(event("charge.succeeded", T, charge("ch_1", "cus_1", { amount: "ten" })));
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("data.object.amount") });
  });

  it.each([
    ["an unknown object kind", event("payment_intent.succeeded", T, { id: "pi_1", object: "payment_intent" })],
    ["an object without a kind", event("weird", T, { id: "x_1" })],
    [
      "invoice.upcoming (no id)",
      event("invoice.upcoming", T, { object: "invoice", customer: "cus_1", status: "draft" }),
    ],
    ["a coupon deletion", event("coupon.deleted", T, { id: "co_1", object: "coupon", deleted: true })],
  ])("ignores %s without error", (_name, raw) => {
    expect(decoded(raw)).toMatchObject({ outcome: "ignored" });
  });

  it("keeps the envelope metadata", () => {
    const raw = { ...event("customer.created", T, customer("cus_1")), account: "acct_1", livemode: true };
    expect(decoded(raw).meta).toEqual({
      id: "evt_customer.created_cus_1_1700000000",
      type: "customer.created",
      created: T,
      apiVersion: "2024-06-20",
      livemode: true,
      account: "acct_1",
      backfill: false,
    });
  });
});

describe("decodeEvent: snapshots", () => {
  it("treats any event carrying a known object as a snapshot of it, whatever the type", () => {
    const e = decoded(event("customer.snapshot", T, customer("cus_1")));
    expect(e).toMatchObject({
      outcome: "snapshot",
      deleted: false,
      snapshot: { kind: "customer", data: { id: "cus_1" } },
    });
  });

  it.each([
    ["customer.deleted with the full object", event("customer.deleted", T, customer("cus_1"))],
    ["a deleted stub", event("customer.snapshot", T, { id: "cus_1", object: "customer", deleted: true })],
    ["product.deleted", event("product.deleted", T, { id: "prod_1", object: "product", name: "Gold" })],
  ])("marks %s deleted", (_name, raw) => {
    expect(decoded(raw)).toMatchObject({ outcome: "snapshot", deleted: true });
  });

  it("lower-cases currencies and reads expanded customer references", () => {
    const raw = event(
      "charge.succeeded",
      T,
      charge("ch_1", null, { currency: "EUR", customer: { id: "cus_9", object: "customer" } }),
    );
    expect(snapshotOf(raw)).toMatchObject({ kind: "charge", data: { currency: "eur", customer: "cus_9" } });
  });

  it("defaults amount_captured for charges rendered before it existed", () => {
    const old = charge("ch_1", "cus_1", { amount: 700 });
    delete old["amount_captured"];
    expect(snapshotOf(event("charge.succeeded", T, old))).toMatchObject({ data: { amountCaptured: 700 } });
    const uncaptured = { ...old, captured: false };
    expect(snapshotOf(event("charge.succeeded", T, uncaptured))).toMatchObject({ data: { amountCaptured: 0 } });
  });

  it("normalises both subscription shapes to the same snapshot", () => {
    const spec = {
      id: "sub_1",
      customer: "cus_1",
      current_period_end: T + 1000,
      items: [{ id: "price_1", nickname: "Gold" }],
      discounts: ["di_1"],
    };
    const legacy = snapshotOf(event("customer.subscription.updated", T, subscription(spec, "legacy")));
    const basil = snapshotOf(event("customer.subscription.updated", T, subscription(spec, "basil")));
    expect(basil).toEqual(legacy);
    expect(basil).toMatchObject({ data: { currentPeriodEnd: T + 1000, discounts: ["di_1"] } });
  });

  it("merges a legacy single discount with the discounts array without duplicating it", () => {
    const raw = subscription({ id: "sub_1", customer: "cus_1" });
    raw["discount"] = { id: "di_1", object: "discount", coupon: { id: "co_1", duration: "forever", percent_off: 10 } };
    raw["discounts"] = ["di_1", "di_2"];
    const snap = snapshotOf(event("customer.subscription.updated", T, raw));
    expect(snap).toMatchObject({
      data: { discounts: [{ id: "di_1", coupon: { id: "co_1", duration: "forever", percentOff: 10 } }, "di_2"] },
    });
  });

  it("reads legacy plan-only items as prices", () => {
    const raw = subscription({ id: "sub_1", customer: "cus_1" });
    raw["items"] = {
      data: [
        {
          id: "si_1",
          quantity: 2,
          plan: {
            id: "plan_1",
            object: "plan",
            amount: 500,
            currency: "usd",
            interval: "year",
            interval_count: 1,
            usage_type: "licensed",
            nickname: "Old",
          },
        },
      ],
    };
    expect(snapshotOf(event("customer.subscription.updated", T, raw))).toMatchObject({
      data: {
        items: [
          {
            quantity: 2,
            price: {
              id: "plan_1",
              unitAmountDecimal: "500",
              nickname: "Old",
              recurring: { interval: "year", intervalCount: 1, usageType: "licensed" },
            },
          },
        ],
      },
    });
  });

  it("a customer.subscription.deleted stub without status is canceled", () => {
    const raw = event("customer.subscription.deleted", T, { id: "sub_1", object: "subscription", customer: "cus_1" });
    expect(snapshotOf(raw)).toMatchObject({ data: { status: "canceled" } });
  });

  it("reads invoice.subscription in both shapes", () => {
    const legacy = snapshotOf(event("invoice.paid", T, invoice("in_1", "cus_1", "sub_1", "legacy")));
    const basil = snapshotOf(event("invoice.paid", T, invoice("in_1", "cus_1", "sub_1", "basil")));
    expect(legacy).toEqual(basil);
    expect(basil).toMatchObject({ kind: "invoice", data: { subscription: "sub_1" } });
  });
});
