import { describe, expect, it } from "vitest";
import type { CustomerReadModel } from "./read-model.ts";
import {
  charge,
  customer,
  dispute,
  event,
  invoice,
  product,
  project,
  projectOne,
  type RawEvent,
  refund,
  type Shape,
  subscription,
} from "./stripe-test-events.ts";

const T = 1_700_000_000;

interface Case {
  name: string;
  events: RawEvent[];
  expected: Partial<CustomerReadModel>;
}

const paid = (id: string, amount: number, fields: Record<string, unknown> = {}) =>
  charge(id, "cus_1", { amount, amount_captured: amount, ...fields });

describe("payment metrics", () => {
  const cases: Case[] = [
    {
      name: "no charges",
      events: [event("customer.created", T, customer("cus_1"))],
      expected: { paymentCount: 0, totalSpent: {}, averageOrderValue: {}, lastPaymentAt: null, refundedTotal: {} },
    },
    {
      name: "succeeded charges are counted and summed",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.succeeded", T + 5, paid("ch_2", 3000, { created: T + 5 })),
      ],
      expected: { paymentCount: 2, totalSpent: { usd: 4000 }, averageOrderValue: { usd: 2000 }, lastPaymentAt: T + 5 },
    },
    {
      name: "a charge seen several times counts once",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.updated", T + 5, paid("ch_1", 1000)),
        event("charge.snapshot", T + 500, paid("ch_1", 1000)),
      ],
      expected: { paymentCount: 1, totalSpent: { usd: 1000 }, lastPaymentAt: T },
    },
    {
      name: "pending, failed and uncaptured charges are not payments",
      events: [
        event("charge.pending", T, paid("ch_1", 1000, { status: "pending", captured: false, amount_captured: 0 })),
        event("charge.failed", T, paid("ch_2", 1000, { status: "failed", captured: false, amount_captured: 0 })),
        event("charge.succeeded", T, paid("ch_3", 1000, { captured: false, amount_captured: 0 })),
      ],
      expected: { paymentCount: 0, failedPaymentCount: 1, totalSpent: {}, lastPaymentAt: null },
    },
    {
      name: "a charge that failed then was retried under a new id",
      events: [
        event("charge.failed", T, paid("ch_1", 1000, { status: "failed", captured: false, amount_captured: 0 })),
        event("charge.succeeded", T + 60, paid("ch_2", 1000)),
      ],
      expected: { paymentCount: 1, failedPaymentCount: 1, totalSpent: { usd: 1000 } },
    },
    {
      name: "partial refund lowers total_spent but not payment_count",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.refunded", T + 10, paid("ch_1", 1000, { amount_refunded: 250 })),
      ],
      expected: {
        paymentCount: 1,
        totalSpent: { usd: 750 },
        averageOrderValue: { usd: 750 },
        refundedTotal: { usd: 250 },
      },
    },
    {
      name: "full refund",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.refunded", T + 10, paid("ch_1", 1000, { amount_refunded: 1000, refunded: true })),
        event("charge.succeeded", T + 20, paid("ch_2", 500)),
      ],
      expected: {
        paymentCount: 2,
        totalSpent: { usd: 500 },
        averageOrderValue: { usd: 250 },
        refundedTotal: { usd: 1000 },
      },
    },
    {
      name: "a refund event newer than the last charge snapshot counts",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("refund.created", T + 10, refund("re_1", "ch_1", { amount: 300 })),
        event("refund.created", T + 20, refund("re_2", "ch_1", { amount: 200, status: "failed" })),
      ],
      expected: { totalSpent: { usd: 700 }, refundedTotal: { usd: 300 } },
    },
    {
      name: "refund events and the charge's amount_refunded are not added twice",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.refund.updated", T + 10, refund("re_1", "ch_1", { amount: 300 })),
        event("charge.refunded", T + 10, paid("ch_1", 1000, { amount_refunded: 300 })),
      ],
      expected: { totalSpent: { usd: 700 }, refundedTotal: { usd: 300 } },
    },
    {
      name: "a lost dispute is taken off total_spent",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.succeeded", T, paid("ch_2", 2000)),
        event("charge.dispute.created", T + 10, dispute("dp_1", "ch_1", { amount: 1000 })),
        event("charge.dispute.closed", T + 20, dispute("dp_1", "ch_1", { amount: 1000, status: "lost" })),
      ],
      expected: { paymentCount: 2, totalSpent: { usd: 2000 }, averageOrderValue: { usd: 1000 }, disputeCount: 1 },
    },
    {
      name: "won and open disputes are counted but cost nothing",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.dispute.closed", T + 20, dispute("dp_1", "ch_1", { status: "won" })),
        event("charge.succeeded", T, paid("ch_2", 1000)),
        event("charge.dispute.created", T + 20, dispute("dp_2", "ch_2", { status: "needs_response" })),
      ],
      expected: { totalSpent: { usd: 2000 }, disputeCount: 2 },
    },
    {
      name: "several currencies are kept apart",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.succeeded", T, paid("ch_2", 901, { currency: "eur" })),
        event("charge.succeeded", T, paid("ch_3", 500, { currency: "eur" })),
        event("charge.succeeded", T, paid("ch_4", 300, { currency: "JPY" })),
        event("charge.refunded", T + 1, paid("ch_3", 500, { currency: "eur", amount_refunded: 100 })),
      ],
      expected: {
        paymentCount: 4,
        totalSpent: { eur: 1301, jpy: 300, usd: 1000 },
        averageOrderValue: { eur: 651, jpy: 300, usd: 1000 },
        refundedTotal: { eur: 100 },
      },
    },
    {
      name: "average_order_value rounds half away from zero",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1)),
        event("charge.succeeded", T, paid("ch_2", 2)),
        event("charge.succeeded", T, paid("ch_3", 2)),
        event("charge.succeeded", T, paid("ch_4", 2)),
      ],
      expected: { totalSpent: { usd: 7 }, averageOrderValue: { usd: 2 } }, // 1.75
    },
    {
      name: "average_order_value of a negative total rounds away from zero too",
      events: [
        event("charge.succeeded", T, paid("ch_1", 1000)),
        event("charge.refunded", T + 1, paid("ch_1", 1000, { amount_refunded: 1000 })),
        event("charge.succeeded", T, paid("ch_2", 5)),
        event("charge.dispute.closed", T + 2, dispute("dp_1", "ch_2", { amount: 10, status: "lost" })),
      ],
      expected: { totalSpent: { usd: -5 }, averageOrderValue: { usd: -3 } }, // -2.5
    },
    {
      name: "last_payment_at comes from the charge's own created for backfilled charges",
      events: [
        event("charge.snapshot", T + 99_999, paid("ch_1", 1000, { created: T - 7 })),
        event("charge.snapshot", T + 99_999, paid("ch_2", 1000, { created: T - 9 })),
      ],
      expected: { lastPaymentAt: T - 7, lastEventAt: T + 99_999 },
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expect(projectOne(c.events, "cus_1")).toMatchObject(c.expected);
  });
});

describe("subscription fields", () => {
  const sub = (
    id: string,
    status: string,
    created: number,
    fields: Record<string, unknown> = {},
    shape: Shape = "legacy",
  ) =>
    subscription(
      {
        id,
        customer: "cus_1",
        status,
        created,
        items: [{ id: `price_${id}`, nickname: `Plan ${id}` }],
        ...fields,
      },
      shape,
    );

  it.each([
    ["active beats past_due", [sub("sub_a", "past_due", T + 9), sub("sub_b", "active", T)], "active", "Plan sub_b"],
    ["past_due beats trialing", [sub("sub_a", "trialing", T), sub("sub_b", "past_due", T)], "past_due", "Plan sub_b"],
    ["trialing beats unpaid", [sub("sub_a", "unpaid", T), sub("sub_b", "trialing", T)], "trialing", "Plan sub_b"],
    ["unpaid beats paused", [sub("sub_a", "paused", T), sub("sub_b", "unpaid", T)], "unpaid", "Plan sub_b"],
    ["paused beats incomplete", [sub("sub_a", "incomplete", T), sub("sub_b", "paused", T)], "paused", "Plan sub_b"],
    [
      "incomplete beats incomplete_expired",
      [sub("sub_a", "incomplete_expired", T), sub("sub_b", "incomplete", T)],
      "incomplete",
      "Plan sub_b",
    ],
    [
      "incomplete_expired beats canceled",
      [sub("sub_a", "canceled", T), sub("sub_b", "incomplete_expired", T)],
      "incomplete_expired",
      "Plan sub_b",
    ],
    [
      "ties go to the most recently created",
      [sub("sub_a", "active", T + 1), sub("sub_b", "active", T)],
      "active",
      "Plan sub_a",
    ],
    [
      "equal creation: the greater id",
      [sub("sub_a", "canceled", T), sub("sub_b", "canceled", T)],
      "canceled",
      "Plan sub_b",
    ],
  ])("%s", (_name, subs, status, plan) => {
    const events = subs.map((s) => event("customer.subscription.updated", T + 100, s));
    for (const order of [events, [...events].reverse()]) {
      expect(projectOne(order, "cus_1")).toMatchObject({ subscriptionStatus: status, planName: plan });
    }
  });

  it.each(["legacy", "basil"] as const)("reads the primary subscription's dates (%s shape)", (shape) => {
    const s = sub(
      "sub_1",
      "trialing",
      T,
      { start_date: T - 5, trial_end: T + 14 * 86_400, current_period_end: T + 86_400 },
      shape,
    );
    expect(projectOne([event("customer.subscription.created", T, s, { shape })], "cus_1")).toMatchObject({
      subscriptionStatus: "trialing",
      subscriptionStartedAt: T - 5,
      trialEnd: T + 14 * 86_400,
      currentPeriodEnd: T + 86_400,
      cancelAtPeriodEnd: false,
      mrr: {},
      churned: false,
    });
  });

  it("cancel_at_period_end is reported and keeps the customer un-churned until canceled", () => {
    const s = sub("sub_1", "active", T, { cancel_at_period_end: true });
    expect(projectOne([event("customer.subscription.updated", T, s)], "cus_1")).toMatchObject({
      cancelAtPeriodEnd: true,
      mrr: {},
      churned: false,
    });
  });

  it.each([
    ["no subscription", [], false],
    ["an active one", ["active"], false],
    ["a trialing one", ["trialing"], false],
    ["a past_due one", ["past_due"], false],
    ["only canceled ones", ["canceled", "canceled"], true],
    ["canceled and unpaid", ["canceled", "unpaid"], true],
    ["canceled and active", ["canceled", "active"], false],
    ["only incomplete_expired", ["incomplete_expired"], true],
  ])("churned with %s: %s", (_name, statuses, churned) => {
    const events = [
      event("customer.created", T, customer("cus_1")),
      ...statuses.map((status, i) => event("customer.subscription.updated", T, sub(`sub_${i}`, status, T))),
    ];
    expect(projectOne(events, "cus_1").churned).toBe(churned);
  });

  it("a subscription that ends churns the customer whatever the order", () => {
    const events = [
      event("customer.subscription.created", T, sub("sub_1", "active", T)),
      event("customer.subscription.deleted", T + 30 * 86_400, sub("sub_1", "canceled", T)),
    ];
    for (const order of [events, [...events].reverse()]) {
      expect(projectOne(order, "cus_1")).toMatchObject({ subscriptionStatus: "canceled", churned: true, mrr: {} });
    }
  });

  describe("plan_name", () => {
    const plain = (nickname: string | null) =>
      subscription({ id: "sub_1", customer: "cus_1", items: [{ id: "price_1", nickname, product: "prod_1" }] });

    it("is the price nickname", () => {
      expect(projectOne([event("customer.subscription.updated", T, plain("Gold"))], "cus_1").planName).toBe("Gold");
    });

    it("else the product name when a product event was seen", () => {
      const events = [
        event("customer.subscription.updated", T, plain(null)),
        event("product.updated", T - 999, product("prod_1", "Gold plan")),
      ];
      expect(projectOne(events, "cus_1").planName).toBe("Gold plan");
    });

    it("else the price id", () => {
      expect(projectOne([event("customer.subscription.updated", T, plain(null))], "cus_1").planName).toBe("price_1");
    });

    it("follows a newer price.updated nickname, but not an older one", () => {
      const renamed = (at: number, nickname: string) =>
        event("price.updated", at, { id: "price_1", object: "price", nickname, product: "prod_1", currency: "usd" });
      const s = event("customer.subscription.updated", T, plain("Gold"));
      expect(projectOne([s, renamed(T + 1, "Gold 2024")], "cus_1").planName).toBe("Gold 2024");
      expect(projectOne([s, renamed(T - 1, "Old gold")], "cus_1").planName).toBe("Gold");
    });
  });
});

describe("customer fields", () => {
  it("reads the customer object", () => {
    const c = customer("cus_1", {
      email: "ada@example.com",
      name: "Ada Lovelace",
      phone: "+441234",
      currency: "GBP",
      created: T - 3600,
      metadata: { customer_tier: "vip", n: 3, gone: null },
    });
    expect(projectOne([event("customer.created", T, c)], "cus_1")).toMatchObject({
      email: "ada@example.com",
      name: "Ada Lovelace",
      phone: "+441234",
      currency: "gbp",
      createdAt: T - 3600,
      deleted: false,
      metadata: { customer_tier: "vip", n: "3" },
      lastEventAt: T,
    });
  });

  it("takes the latest snapshot", () => {
    const events = [
      event("customer.updated", T + 10, customer("cus_1", { email: "new@example.com" })),
      event("customer.created", T, customer("cus_1", { email: "old@example.com" })),
    ];
    expect(projectOne(events, "cus_1").email).toBe("new@example.com");
  });

  it("drops personal data once deleted but keeps the metrics", () => {
    const events = [
      event("customer.created", T, customer("cus_1", { metadata: { tier: "vip" } })),
      event("charge.succeeded", T + 1, paid("ch_1", 1000)),
      event("customer.deleted", T + 2, customer("cus_1", { metadata: { tier: "vip" } })),
    ];
    expect(projectOne(events, "cus_1")).toMatchObject({
      deleted: true,
      email: null,
      name: null,
      phone: null,
      metadata: {},
      paymentCount: 1,
      totalSpent: { usd: 1000 },
      lastEventAt: T + 2,
    });
  });

  it("a customer known only from its charges, subscriptions or invoices still has a row", () => {
    const models = project([
      event("charge.succeeded", T, charge("ch_1", "cus_a")),
      event("customer.subscription.created", T, subscription({ id: "sub_1", customer: "cus_b" })),
      event("invoice.paid", T, invoice("in_1", "cus_c", null, "basil")),
    ]);
    expect([...models.keys()]).toEqual(["cus_a", "cus_b", "cus_c"]);
    expect(models.get("cus_a")).toMatchObject({ email: null, createdAt: null, deleted: false, paymentCount: 1 });
  });

  it("objects without a customer produce no row", () => {
    const models = project([
      event("product.created", T, product("prod_1", "Gold")),
      event("charge.succeeded", T, charge("ch_guest", null)),
      event("refund.created", T, refund("re_1", "ch_guest")),
      event("charge.dispute.created", T, dispute("dp_1", "ch_unknown")),
    ]);
    expect(models.size).toBe(0);
  });

  it("last_event_at spans every object of the customer, disputes and refunds included", () => {
    const events = [
      event("customer.created", T, customer("cus_1")),
      event("charge.succeeded", T + 1, paid("ch_1", 1000)),
      event("charge.dispute.created", T + 7, dispute("dp_1", "ch_1")),
      event("refund.created", T + 5, refund("re_1", "ch_1")),
      event("product.created", T + 100, product("prod_1", "unrelated")),
    ];
    expect(projectOne(events, "cus_1").lastEventAt).toBe(T + 7);
  });
});
