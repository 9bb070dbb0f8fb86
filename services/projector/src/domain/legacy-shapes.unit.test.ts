/**
 * Issue #13 items 3, 4, 5: payloads as Stripe rendered them at older API versions (and a
 * deletion payload as Stripe really sends it), folded to the read model. Shapes are built from
 * Stripe's API changelog: `status: "paid"` until 2015-02-18, charges with only `paid` before
 * `status` existed, subscriptions with a top-level `plan` before items (2017), `start` before
 * `start_date` (2019), plan `name` before 2018-02-05, disputes without ids before 2015.
 */
import { describe, expect, it } from "vitest";
import { decodeEvent } from "./events.ts";
import type { CustomerReadModel } from "./read-model.ts";
import { charge, event, pre2017Subscription, projectOne, type RawEvent, subscription } from "./stripe-test-events.ts";

const T = 1_400_000_000; // 2014-05-13
const OLD = { shape: "legacy" as const };

/** A charge as rendered before 2015-02-18 (no `amount_captured`, which came in 2019). */
const charge2014 = (id: string, fields: Record<string, unknown>) => {
  const { amount_captured: _c, status: _s, ...rest } = charge(id, "cus_1", { created: T, amount: 1500 });
  return { ...rest, ...fields };
};

interface Case {
  name: string;
  events: RawEvent[];
  expected: Partial<CustomerReadModel>;
}

describe("charges before API version 2015-02-18", () => {
  const cases: Case[] = [
    {
      name: 'status "paid" counts as succeeded',
      events: [event("charge.succeeded", T, charge2014("ch_1", { status: "paid", paid: true, captured: true }), OLD)],
      expected: { paymentCount: 1, totalSpent: { usd: 1500 }, lastPaymentAt: T, failedPaymentCount: 0 },
    },
    {
      name: "no status, paid: true counts as succeeded",
      events: [event("charge.succeeded", T, charge2014("ch_1", { paid: true, captured: true }), OLD)],
      expected: { paymentCount: 1, totalSpent: { usd: 1500 }, lastPaymentAt: T },
    },
    {
      name: "no status, no captured field (before auth-and-capture): paid means captured",
      events: [event("charge.succeeded", T, { ...charge2014("ch_1", { paid: true }), captured: undefined }, OLD)],
      expected: { paymentCount: 1, totalSpent: { usd: 1500 } },
    },
    {
      name: "paid but uncaptured is not a payment yet",
      events: [event("charge.succeeded", T, charge2014("ch_1", { status: "paid", paid: true, captured: false }), OLD)],
      expected: { paymentCount: 0, totalSpent: {} },
    },
    {
      name: "no status, paid: false with a failure_code is a failed payment",
      events: [
        event(
          "charge.failed",
          T,
          charge2014("ch_1", { paid: false, captured: false, failure_code: "card_declined" }),
          OLD,
        ),
      ],
      expected: { paymentCount: 0, failedPaymentCount: 1 },
    },
    {
      name: "partially refunded as it was then (amount_refunded)",
      events: [
        event(
          "charge.refunded",
          T + 60,
          charge2014("ch_1", { status: "paid", paid: true, captured: true, amount_refunded: 500 }),
          OLD,
        ),
      ],
      expected: { paymentCount: 1, totalSpent: { usd: 1000 }, refundedTotal: { usd: 500 }, lastPaymentAt: T },
    },
    {
      name: "fully refunded with only refunded: true",
      events: [
        event(
          "charge.refunded",
          T + 60,
          { ...charge2014("ch_1", { paid: true, captured: true, refunded: true }), amount_refunded: undefined },
          OLD,
        ),
      ],
      expected: { paymentCount: 1, totalSpent: { usd: 0 }, refundedTotal: { usd: 1500 } },
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(projectOne(c.events, "cus_1")).toMatchObject(c.expected);
  });

  it("a charge with neither status nor paid is rejected with the reason", () => {
    const raw = event("charge.succeeded", T, { ...charge2014("ch_1", {}), paid: undefined }, OLD);
    expect(decodeEvent(raw)).toEqual({ ok: false, reason: "charge has neither status nor paid" });
  });
});

describe("subscriptions and disputes before 2017", () => {
  const cases: Case[] = [
    {
      name: "top-level plan and quantity, no items: MRR, plan name from plan.name, start from start",
      events: [
        event(
          "customer.subscription.created",
          T,
          pre2017Subscription({ id: "sub_1", customer: "cus_1", created: T - 86_400, amount: 2000, quantity: 3 }),
          OLD,
        ),
      ],
      expected: {
        mrr: { usd: 6000 },
        planName: "Gold Plan",
        subscriptionStartedAt: T - 86_400,
        subscriptionStatus: "active",
      },
    },
    {
      name: "a yearly plan counts a twelfth",
      events: [
        event(
          "customer.subscription.updated",
          T,
          pre2017Subscription({ id: "sub_1", customer: "cus_1", amount: 12_000, interval: "year" }),
          OLD,
        ),
      ],
      expected: { mrr: { usd: 1000 } },
    },
    {
      name: "an id-less dispute on a charge counts (keyed by its charge), and a lost one takes the money back",
      events: [
        event("charge.succeeded", T, charge2014("ch_1", { status: "paid", paid: true, captured: true }), OLD),
        event(
          "charge.dispute.created",
          T + 60,
          {
            object: "dispute",
            charge: "ch_1",
            amount: 1500,
            currency: "usd",
            status: "needs_response",
            reason: "fraudulent",
          },
          OLD,
        ),
        event(
          "charge.dispute.closed",
          T + 600,
          { object: "dispute", charge: "ch_1", amount: 1500, currency: "usd", status: "lost", reason: "fraudulent" },
          OLD,
        ),
      ],
      expected: { disputeCount: 1, totalSpent: { usd: 0 } },
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(projectOne(c.events, "cus_1")).toMatchObject(c.expected);
    expect(projectOne([...c.events].reverse(), "cus_1")).toMatchObject(c.expected);
  });

  it("a dispute with neither id nor charge is rejected, not counted as nothing", () => {
    const raw = event(
      "charge.dispute.created",
      T,
      { object: "dispute", amount: 1, currency: "usd", status: "lost" },
      OLD,
    );
    expect(decodeEvent(raw)).toEqual({ ok: false, reason: "data.object: dispute has neither id nor charge" });
  });
});

describe("customer.subscription.deleted drives status, MRR and churn together", () => {
  const live = { id: "sub_1", customer: "cus_1", items: [{ id: "price_1", unit_amount: 2000 }] };
  const cases: { name: string; status: string; shape: "legacy" | "basil"; expectedStatus: string }[] = [
    { name: "payload still says active (basil)", status: "active", shape: "basil", expectedStatus: "canceled" },
    { name: "payload still says active (legacy)", status: "active", shape: "legacy", expectedStatus: "canceled" },
    { name: "payload says past_due", status: "past_due", shape: "basil", expectedStatus: "canceled" },
    { name: "payload says trialing", status: "trialing", shape: "basil", expectedStatus: "canceled" },
    { name: "payload says canceled", status: "canceled", shape: "basil", expectedStatus: "canceled" },
    {
      name: "an expired incomplete one keeps its status",
      status: "incomplete_expired",
      shape: "basil",
      expectedStatus: "incomplete_expired",
    },
  ];
  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const events = [
      event("customer.subscription.created", T, subscription({ ...live, status: "active" }, c.shape), {
        shape: c.shape,
      }),
      event("customer.subscription.deleted", T + 60, subscription({ ...live, status: c.status }, c.shape), {
        shape: c.shape,
      }),
    ];
    for (const order of [events, [...events].reverse()]) {
      expect(projectOne(order, "cus_1")).toMatchObject({
        mrr: {},
        subscriptionStatus: c.expectedStatus,
        churned: true,
      });
    }
  });
});
