import { describe, expect, it } from "vitest";
import type { Money } from "./money.ts";
import {
  CHARTMOGUL_MRR_RULES,
  type MrrRules,
  monthlyFactor,
  PADDLE_MRR_RULES,
  PROFITWELL_MRR_RULES,
  STRIPE_MRR_RULES,
} from "./mrr.ts";
import { ratio } from "./ratio.ts";
import {
  type CouponSpec,
  coupon,
  customer,
  discount,
  event,
  type ItemSpec,
  price,
  projectOne,
  type RawEvent,
  type Shape,
  type SubscriptionSpec,
  subscription,
} from "./stripe-test-events.ts";

const SHAPES: readonly Shape[] = ["legacy", "basil"];
const T = 1_700_000_000;

interface Case {
  name: string;
  subscriptions: (Omit<SubscriptionSpec, "customer" | "discounts" | "items"> & {
    items?: (ItemSpec & { itemCoupons?: CouponSpec[] })[];
    coupons?: CouponSpec[];
  })[];
  customerCoupon?: CouponSpec;
  rules?: MrrRules;
  expected: Money;
}

/**
 * Renders the case as events in the given shape. Legacy payloads embed the discounts; basil
 * payloads list discount ids, and the discounts arrive as their own `customer.discount.created`
 * events — one of them in the clover form whose coupon is only an id (then a coupon event).
 */
const render = (c: Case, shape: Shape): RawEvent[] => {
  const events: RawEvent[] = [];
  let n = 0;
  const discountFor = (spec: CouponSpec, subscriptionId: string) => {
    const id = `di_${subscriptionId}_${n++}`;
    const clover = shape === "basil" && n % 2 === 0;
    const object = discount(id, spec, { subscription: subscriptionId, customer: "cus_1", clover });
    // Stripe announces every discount with its own event; only legacy payloads also embed one.
    events.push(event("customer.discount.created", T, object, { shape }));
    if (clover) events.push(event("coupon.created", T - 10, { id: spec.id, ...coupon(spec) }, { shape }));
    return shape === "basil" ? id : object;
  };
  const customerFields = c.customerCoupon
    ? { discount: discount("di_customer", c.customerCoupon, { customer: "cus_1" }) }
    : {};
  events.push(event("customer.created", T, customer("cus_1", customerFields), { shape }));
  for (const s of c.subscriptions) {
    const spec: SubscriptionSpec = {
      ...s,
      customer: "cus_1",
      discounts: (s.coupons ?? []).map((cp) => discountFor(cp, s.id)),
      ...(s.items
        ? {
            items: s.items.map((i) => ({
              ...i,
              itemDiscounts: (i.itemCoupons ?? []).map((cp) => discountFor(cp, s.id)),
            })),
          }
        : {}),
    };
    events.push(event("customer.subscription.updated", T + 1, subscription(spec, shape), { shape }));
  }
  return events;
};

type CaseItem = ItemSpec & { itemCoupons?: CouponSpec[] };
const item = (spec: Partial<CaseItem> = {}): CaseItem => ({
  id: "price_1",
  unit_amount: 1000,
  ...spec,
});
const forever = (spec: Omit<CouponSpec, "duration">): CouponSpec => ({ ...spec, duration: "forever" });

const CASES: Case[] = [
  { name: "monthly price", subscriptions: [{ id: "sub_1", items: [item()] }], expected: { usd: 1000 } },
  {
    name: "quantity multiplies the unit amount",
    subscriptions: [{ id: "sub_1", items: [item({ quantity: 3 })] }],
    expected: { usd: 3000 },
  },
  {
    name: "missing quantity counts as 1",
    subscriptions: [{ id: "sub_1", items: [item({ quantity: null })] }],
    expected: { usd: 1000 },
  },
  {
    name: "every 3 months",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 3000, interval_count: 3 })] }],
    expected: { usd: 1000 },
  },
  {
    name: "yearly: /12",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 12_000, interval: "year" })] }],
    expected: { usd: 1000 },
  },
  {
    name: "every 2 years: /24, rounded half away from zero at the end",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 1212, interval: "year", interval_count: 2 })] }],
    expected: { usd: 51 }, // 50.5
  },
  {
    name: "weekly: ×52/12",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 1000, interval: "week" })] }],
    expected: { usd: 4333 }, // 4333.33
  },
  {
    name: "every 2 weeks: ×52/24",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 1000, interval: "week", interval_count: 2 })] }],
    expected: { usd: 2167 }, // 2166.67
  },
  {
    name: "daily: ×365/12",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: 100, interval: "day" })] }],
    expected: { usd: 3042 }, // 3041.67
  },
  {
    name: "every 7 days with quantity 2: ×2×365/84",
    subscriptions: [
      { id: "sub_1", items: [item({ unit_amount: 100, interval: "day", interval_count: 7, quantity: 2 })] },
    ],
    expected: { usd: 869 }, // 869.05
  },
  {
    name: "rounding happens once per currency, not per item",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({ id: "price_a", unit_amount: 6, interval: "year" }),
          item({ id: "price_b", unit_amount: 6, interval: "year" }),
          item({ id: "price_c", unit_amount: 6, interval: "year" }),
        ],
      },
    ],
    expected: { usd: 2 }, // 3 × 0.5 = 1.5; rounding each item would give 3
  },
  {
    name: "sub-cent items add up before rounding",
    subscriptions: [
      { id: "sub_1", items: [item({ id: "price_a", unit_amount: 6, interval: "year" })] },
      { id: "sub_2", items: [item({ id: "price_b", unit_amount: 6, interval: "year" })] },
    ],
    expected: { usd: 1 }, // 0.5 + 0.5; per-subscription rounding would give 2
  },
  {
    name: "unit_amount_decimal is used exactly",
    subscriptions: [{ id: "sub_1", items: [item({ unit_amount: null, unit_amount_decimal: "0.25", quantity: 10 })] }],
    expected: { usd: 3 }, // 2.5
  },
  {
    name: "metered items are excluded",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({ id: "price_a" }),
          item({ id: "price_m", unit_amount: 5, usage_type: "metered", quantity: null }),
        ],
      },
    ],
    expected: { usd: 1000 },
  },
  {
    name: "a counted subscription with only metered items gives 0 in its currency",
    subscriptions: [{ id: "sub_1", items: [item({ usage_type: "metered", quantity: null })] }],
    expected: { usd: 0 },
  },
  {
    name: "one-off prices are excluded",
    subscriptions: [{ id: "sub_1", items: [item({ id: "price_a" }), item({ id: "price_once", recurring: false })] }],
    expected: { usd: 1000 },
  },
  {
    name: "past_due counts",
    subscriptions: [{ id: "sub_1", status: "past_due", items: [item()] }],
    expected: { usd: 1000 },
  },
  ...["trialing", "canceled", "unpaid", "incomplete", "incomplete_expired", "paused"].map(
    (status): Case => ({
      name: `${status} does not count`,
      subscriptions: [{ id: "sub_1", status, items: [item()] }],
      expected: {},
    }),
  ),
  {
    name: "cancel_at_period_end removes the subscription at once",
    subscriptions: [{ id: "sub_1", cancel_at_period_end: true, items: [item()] }],
    expected: {},
  },
  {
    name: "several subscriptions in several currencies",
    subscriptions: [
      { id: "sub_1", items: [item({ id: "price_usd", unit_amount: 1000 })] },
      { id: "sub_2", items: [item({ id: "price_usd2", unit_amount: 500 })] },
      { id: "sub_3", currency: "eur", items: [item({ id: "price_eur", unit_amount: 900, currency: "eur" })] },
      {
        id: "sub_4",
        currency: "jpy",
        items: [item({ id: "price_jpy", unit_amount: 12_000, currency: "jpy", interval: "year" })],
      },
    ],
    expected: { eur: 900, jpy: 1000, usd: 1500 },
  },
  {
    name: "forever percent_off coupon",
    subscriptions: [{ id: "sub_1", items: [item()], coupons: [forever({ id: "co_25", percent_off: 25 })] }],
    expected: { usd: 750 },
  },
  {
    name: "fractional percent_off",
    subscriptions: [
      { id: "sub_1", items: [item({ unit_amount: 999 })], coupons: [forever({ id: "co", percent_off: 33.33 })] },
    ],
    expected: { usd: 666 }, // 666.0333
  },
  {
    name: "once coupon does not reduce MRR",
    subscriptions: [{ id: "sub_1", items: [item()], coupons: [{ id: "co_once", duration: "once", percent_off: 50 }] }],
    expected: { usd: 1000 },
  },
  {
    name: "repeating coupon does not reduce MRR",
    subscriptions: [
      {
        id: "sub_1",
        items: [item()],
        coupons: [{ id: "co_rep", duration: "repeating", amount_off: 300, currency: "usd" }],
      },
    ],
    expected: { usd: 1000 },
  },
  {
    name: "forever amount_off on a monthly plan",
    subscriptions: [
      { id: "sub_1", items: [item()], coupons: [forever({ id: "co_off", amount_off: 300, currency: "usd" })] },
    ],
    expected: { usd: 700 },
  },
  {
    name: "forever amount_off is normalised by the yearly interval",
    subscriptions: [
      {
        id: "sub_1",
        items: [item({ unit_amount: 12_000, interval: "year" })],
        coupons: [forever({ id: "co_off", amount_off: 1200, currency: "usd" })],
      },
    ],
    expected: { usd: 900 },
  },
  {
    name: "forever amount_off is normalised by a weekly interval",
    subscriptions: [
      {
        id: "sub_1",
        items: [item({ unit_amount: 1200, interval: "week" })],
        coupons: [forever({ id: "co_off", amount_off: 200, currency: "usd" })],
      },
    ],
    expected: { usd: 4333 }, // (1200 − 200) × 52/12
  },
  {
    name: "amount_off never takes MRR below zero",
    subscriptions: [
      { id: "sub_1", items: [item()], coupons: [forever({ id: "co_off", amount_off: 5000, currency: "usd" })] },
    ],
    expected: { usd: 0 },
  },
  {
    name: "amount_off in another currency uses currency_options, else does not apply",
    subscriptions: [
      {
        id: "sub_1",
        currency: "eur",
        items: [item({ currency: "eur" })],
        coupons: [
          forever({ id: "co_multi", amount_off: 100, currency: "usd", currency_options: { eur: { amount_off: 90 } } }),
        ],
      },
      {
        id: "sub_2",
        currency: "gbp",
        items: [item({ id: "price_gbp", currency: "gbp" })],
        coupons: [forever({ id: "co_usd", amount_off: 100, currency: "usd" })],
      },
    ],
    expected: { eur: 910, gbp: 1000 },
  },
  {
    name: "stacked forever coupons apply one after the other",
    subscriptions: [
      {
        id: "sub_1",
        items: [item()],
        coupons: [
          forever({ id: "co_off", amount_off: 200, currency: "usd" }),
          forever({ id: "co_10", percent_off: 10 }),
        ],
      },
    ],
    expected: { usd: 720 },
  },
  {
    name: "item-level forever discount applies to that item only",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({ id: "price_a", itemCoupons: [forever({ id: "co_50", percent_off: 50 })] }),
          item({ id: "price_b" }),
        ],
      },
    ],
    expected: { usd: 1500 },
  },
  {
    name: "customer-level forever discount applies to subscriptions without their own",
    customerCoupon: forever({ id: "co_cust", percent_off: 20 }),
    subscriptions: [
      { id: "sub_1", items: [item({ id: "price_a" })] },
      { id: "sub_2", items: [item({ id: "price_b" })], coupons: [forever({ id: "co_5", percent_off: 5 })] },
    ],
    expected: { usd: 1750 },
  },
  {
    name: "transform_quantity divides and rounds the quantity",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({ id: "price_up", quantity: 11, transform_quantity: { divide_by: 5, round: "up" } }),
          item({ id: "price_down", quantity: 11, transform_quantity: { divide_by: 5, round: "down" } }),
        ],
      },
    ],
    expected: { usd: 5000 },
  },
  {
    name: "tiered volume price with expanded tiers",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({
            unit_amount: null,
            quantity: 15,
            billing_scheme: "tiered",
            tiers_mode: "volume",
            tiers: [
              { up_to: 10, unit_amount: 100, flat_amount: null },
              { up_to: null, unit_amount: 80, flat_amount: 500 },
            ],
          }),
        ],
      },
    ],
    expected: { usd: 1700 },
  },
  {
    name: "tiered graduated price with expanded tiers",
    subscriptions: [
      {
        id: "sub_1",
        items: [
          item({
            unit_amount: null,
            quantity: 15,
            billing_scheme: "tiered",
            tiers_mode: "graduated",
            tiers: [
              { up_to: 10, unit_amount: 100, flat_amount: 50 },
              { up_to: null, unit_amount: 80, flat_amount: null },
            ],
          }),
        ],
      },
    ],
    expected: { usd: 1450 },
  },
  {
    name: "tiered price without tiers in the payload counts as 0",
    subscriptions: [
      { id: "sub_1", items: [item({ unit_amount: null, billing_scheme: "tiered", tiers_mode: "volume" })] },
    ],
    expected: { usd: 0 },
  },
  {
    name: "ProfitWell keeps cancel_at_period_end and subtracts every discount",
    rules: PROFITWELL_MRR_RULES,
    subscriptions: [
      {
        id: "sub_1",
        cancel_at_period_end: true,
        items: [item()],
        coupons: [{ id: "co_once", duration: "once", percent_off: 50 }],
      },
    ],
    expected: { usd: 500 },
  },
  {
    name: "ChartMogul subtracts repeating discounts",
    rules: CHARTMOGUL_MRR_RULES,
    subscriptions: [
      { id: "sub_1", items: [item()], coupons: [{ id: "co_rep", duration: "repeating", percent_off: 10 }] },
    ],
    expected: { usd: 900 },
  },
  {
    name: "Paddle uses ×4.33 per week and ×30 per day",
    rules: PADDLE_MRR_RULES,
    subscriptions: [
      { id: "sub_1", items: [item({ id: "price_w", unit_amount: 1000, interval: "week" })] },
      { id: "sub_2", items: [item({ id: "price_d", unit_amount: 100, interval: "day" })] },
    ],
    expected: { usd: 7330 },
  },
  {
    name: "discounts: none ignores even forever coupons",
    rules: { ...STRIPE_MRR_RULES, discounts: "none" },
    subscriptions: [{ id: "sub_1", items: [item()], coupons: [forever({ id: "co_25", percent_off: 25 })] }],
    expected: { usd: 1000 },
  },
];

describe("mrr (Stripe rules by default), both payload shapes", () => {
  for (const shape of SHAPES) {
    describe(shape, () => {
      it.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
        const model = projectOne(render(c, shape), "cus_1", c.rules ? { mrr: c.rules } : undefined);
        expect(model.mrr).toEqual(c.expected);
      });
    });
  }
});

describe("mrr and discount lifecycle", () => {
  const sub = (coupons: string[]) =>
    subscription({ id: "sub_1", customer: "cus_1", items: [item()], discounts: coupons }, "basil");
  const fortyOff = forever({ id: "co_40", percent_off: 40 });

  it("a deleted discount no longer applies, even to an older subscription snapshot listing it", () => {
    const created = event("customer.discount.created", T, discount("di_1", fortyOff, { subscription: "sub_1" }));
    const deleted = event("customer.discount.deleted", T + 5, discount("di_1", fortyOff, { subscription: "sub_1" }));
    const s = event("customer.subscription.updated", T + 1, sub(["di_1"]));
    expect(projectOne([created, s], "cus_1").mrr).toEqual({ usd: 600 });
    expect(projectOne([created, s, deleted], "cus_1").mrr).toEqual({ usd: 1000 });
    expect(projectOne([deleted, s, created], "cus_1").mrr).toEqual({ usd: 1000 });
  });

  it("a discount whose coupon was never seen is left out", () => {
    const clover = event("customer.discount.created", T, discount("di_1", fortyOff, { clover: true }));
    const s = event("customer.subscription.updated", T + 1, sub(["di_1"]));
    expect(projectOne([clover, s], "cus_1").mrr).toEqual({ usd: 1000 });
    const couponEvent = event("coupon.created", T - 100, { id: "co_40", ...coupon(fortyOff) });
    expect(projectOne([clover, s, couponEvent], "cus_1").mrr).toEqual({ usd: 600 });
  });

  it("a coupon deletion does not end the discounts that use it", () => {
    const clover = event("customer.discount.created", T, discount("di_1", fortyOff, { clover: true }));
    const s = event("customer.subscription.updated", T + 1, sub(["di_1"]));
    const couponEvent = event("coupon.created", T - 100, { id: "co_40", ...coupon(fortyOff) });
    const couponDeleted = event("coupon.deleted", T + 50, { id: "co_40", object: "coupon", deleted: true });
    expect(projectOne([clover, s, couponEvent, couponDeleted], "cus_1").mrr).toEqual({ usd: 600 });
  });

  it("a subscription deletion (cancellation) is absorbing for MRR", () => {
    const active = subscription({ id: "sub_1", customer: "cus_1", items: [item()] });
    const canceled = subscription({ id: "sub_1", customer: "cus_1", status: "canceled", items: [item()] });
    const events = [
      event("customer.subscription.deleted", T, canceled),
      event("customer.subscription.updated", T + 60, active),
    ];
    expect(projectOne(events, "cus_1").mrr).toEqual({});
  });
});

describe("tiered prices whose tiers only a price snapshot carried", () => {
  // Stripe renders `tiers` only on request; subscription payloads never carry them (too deep to
  // expand), so the tiers come from the backfill's price listing (`expand[]=data.tiers`).
  const tiers = [
    { up_to: 10, unit_amount: 100, flat_amount: null },
    { up_to: null, unit_amount: 80, flat_amount: 500 },
  ];
  const tiered = { id: "price_t", unit_amount: null, billing_scheme: "tiered" as const, tiers_mode: "volume" as const };
  const sub = (quantity: number, at: number) =>
    event(
      "customer.subscription.updated",
      at,
      subscription({ id: "sub_1", customer: "cus_1", items: [{ ...tiered, quantity }] }, "basil"),
      { shape: "basil" },
    );
  const listed = event("price.snapshot", T - 100, price({ ...tiered, tiers }), { shape: "basil" });
  // A later price.updated (say, a nickname change) comes without tiers and wins as the price's snapshot.
  const renamed = event("price.updated", T + 500, price({ ...tiered, nickname: "Volume" }), { shape: "basil" });

  it.each([
    { name: "subscription webhook + listed price", events: [sub(15, T), listed], mrr: { usd: 1700 } },
    { name: "and a later price webhook without tiers", events: [sub(15, T), listed, renamed], mrr: { usd: 1700 } },
    { name: "quantity in the first tier", events: [sub(4, T), renamed, listed], mrr: { usd: 400 } },
  ])("$name", ({ events, mrr }) => {
    expect(projectOne(events, "cus_1").mrr).toEqual(mrr);
    expect(projectOne([...events].reverse(), "cus_1").mrr).toEqual(mrr);
  });
});

describe("monthlyFactor", () => {
  it.each([
    ["month", 1, ratio(1)],
    ["month", 6, ratio(1, 6)],
    ["year", 1, ratio(1, 12)],
    ["year", 3, ratio(1, 36)],
    ["week", 1, ratio(52, 12)],
    ["week", 4, ratio(52, 48)],
    ["day", 1, ratio(365, 12)],
    ["day", 30, ratio(365, 360)],
  ])("%s × %i", (interval, count, expected) => {
    expect(monthlyFactor(STRIPE_MRR_RULES, interval, count)).toEqual(expected);
  });

  it("is null for an unknown interval", () => {
    expect(monthlyFactor(STRIPE_MRR_RULES, "fortnight", 1)).toBeNull();
  });
});
