import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { DecodedEvent } from "./events.ts";
import { emptyState, type FoldState, fold, foldAll, foldMany, readModels } from "./fold.ts";
import { PROFITWELL_MRR_RULES } from "./mrr.ts";
import { toReadModelRow } from "./read-model.ts";
import {
  charge,
  coupon,
  customer,
  decodeAll,
  discount,
  dispute,
  event,
  invoice,
  pre2017Subscription,
  price,
  product,
  type RawEvent,
  type RawObject,
  refund,
  type Shape,
  subscription,
} from "./stripe-test-events.ts";

/*
 * Generated histories over a deliberately tiny universe (a few ids, a 4-second window) so that
 * the interesting cases are frequent: many snapshots of one object, same-second ties, deletions
 * racing updates, the same event id reused, both payload shapes, backfill snapshots.
 */

const T = 1_700_000_000;
const at = fc.integer({ min: T, max: T + 3 });
const shape = fc.constantFrom<Shape>("legacy", "basil");
const customerId = fc.constantFrom("cus_1", "cus_2", "cus_3");
const chargeId = fc.constantFrom("ch_1", "ch_2", "ch_3", "ch_4");
const currency = fc.constantFrom("usd", "eur");
const couponSpec = fc.record({
  id: fc.constantFrom("co_1", "co_2"),
  duration: fc.constantFrom("forever" as const, "once" as const, "repeating" as const),
  percent_off: fc.constantFrom(10, 33.33, 50),
});

const withType = (types: readonly string[], object: fc.Arbitrary<RawObject>) =>
  fc.record({ type: fc.constantFrom(...types), object });

const customerObject = fc
  .record({
    id: customerId,
    email: fc.constantFrom("a@example.com", "b@example.com", null),
    tier: fc.constantFrom("gold", "silver"),
    stub: fc.boolean(),
  })
  .map(({ id, email, tier, stub }) =>
    stub ? { id, object: "customer", deleted: true } : customer(id, { email, metadata: { tier, since: "2020" } }),
  );

const chargeObject = fc
  .record({
    id: chargeId,
    customer: fc.constantFrom("cus_1", "cus_2", null),
    status: fc.constantFrom("pending", "succeeded", "failed"),
    captured: fc.boolean(),
    amount: fc.constantFrom(999, 1000, 2501),
    refunded: fc.constantFrom(0, 0, 100, 999),
    currency,
    created: at,
    // Pre-2015 renderings: status "paid" for succeeded, or no status at all (only `paid`).
    era: fc.constantFrom("current", "current", "paid-status", "no-status"),
  })
  .map((c) => {
    const object = charge(c.id, c.customer, {
      status: c.status,
      captured: c.captured,
      amount: c.amount,
      amount_captured: c.captured ? c.amount : 0,
      amount_refunded: Math.min(c.refunded, c.amount),
      currency: c.currency,
      created: c.created - 100,
    });
    if (c.era === "current") return object;
    const { amount_captured: _captured, status: _status, ...old } = object;
    const paid = c.status === "succeeded";
    if (c.era === "paid-status") return { ...old, status: paid ? "paid" : c.status, paid };
    return { ...old, paid, failure_code: c.status === "failed" ? "card_declined" : null };
  });

const subscriptionObject = (s: Shape) =>
  fc
    .record({
      id: fc.constantFrom("sub_1", "sub_2", "sub_3"),
      customer: customerId,
      status: fc.constantFrom("incomplete", "trialing", "active", "past_due", "unpaid", "canceled", "paused"),
      created: fc.integer({ min: T - 10, max: T - 8 }),
      cancel: fc.boolean(),
      price: fc.constantFrom("price_1", "price_2"),
      nickname: fc.constantFrom("Gold", null),
      interval: fc.constantFrom("day" as const, "week" as const, "month" as const, "year" as const),
      count: fc.integer({ min: 1, max: 3 }),
      quantity: fc.integer({ min: 1, max: 4 }),
      unit: fc.constantFrom(333, 1000, 1999),
      currency,
      discounts: fc.subarray(["di_1", "di_2"]),
      pre2017: fc.boolean(),
      // A tiered price: subscription payloads never carry its tiers, price snapshots may.
      tiered: fc.boolean(),
    })
    .map((g) =>
      g.pre2017
        ? pre2017Subscription({
            id: g.id,
            customer: g.customer,
            status: g.status,
            created: g.created,
            cancel_at_period_end: g.cancel,
            currency: g.currency,
            plan: g.price,
            interval: g.interval,
            interval_count: g.count,
            quantity: g.quantity,
            amount: g.unit,
          })
        : subscription(
            {
              id: g.id,
              customer: g.customer,
              status: g.status,
              created: g.created,
              cancel_at_period_end: g.cancel,
              currency: g.currency,
              items: [
                {
                  id: g.price,
                  nickname: g.nickname,
                  product: "prod_1",
                  unit_amount: g.unit,
                  interval: g.interval,
                  interval_count: g.count,
                  quantity: g.quantity,
                  currency: g.currency,
                },
              ],
              discounts: g.discounts,
            },
            s,
          ),
    );

const objectEvent = (s: Shape): fc.Arbitrary<{ type: string; object: RawObject }> =>
  fc.oneof(
    withType(["customer.created", "customer.updated", "customer.deleted", "customer.snapshot"], customerObject),
    withType(
      [
        "charge.succeeded",
        "charge.updated",
        "charge.failed",
        "charge.pending",
        "charge.refunded",
        "charge.captured",
        "charge.snapshot",
      ],
      chargeObject,
    ),
    withType(
      [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "subscription.snapshot",
      ],
      subscriptionObject(s),
    ),
    withType(
      ["refund.created", "refund.updated", "charge.refund.updated"],
      fc
        .record({
          id: fc.constantFrom("re_1", "re_2"),
          charge: chargeId,
          amount: fc.constantFrom(50, 500),
          status: fc.constantFrom("pending", "succeeded", "failed"),
        })
        .map((r) => refund(r.id, r.charge, { amount: r.amount, status: r.status })),
    ),
    withType(
      ["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"],
      fc
        .record({
          id: fc.constantFrom("dp_1", "dp_2"),
          charge: chargeId,
          status: fc.constantFrom("needs_response", "under_review", "won", "lost"),
          // Before 2015 a dispute had no id.
          idless: fc.boolean(),
        })
        .map((d) => {
          const { id: _id, ...idless } = dispute(d.id, d.charge, { status: d.status, amount: 400 });
          return d.idless ? idless : dispute(d.id, d.charge, { status: d.status, amount: 400 });
        }),
    ),
    withType(
      ["invoice.created", "invoice.paid", "invoice.snapshot"],
      fc
        .record({
          id: fc.constantFrom("in_1", "in_2"),
          customer: customerId,
          status: fc.constantFrom("draft", "open", "paid"),
        })
        .map((i) => invoice(i.id, i.customer, "sub_1", s, { status: i.status })),
    ),
    withType(
      ["product.created", "product.updated", "product.deleted"],
      fc
        .record({ id: fc.constantFrom("prod_1", "prod_2"), name: fc.constantFrom("Gold plan", "Silver plan") })
        .map((p) => product(p.id, p.name)),
    ),
    withType(
      ["price.created", "price.updated", "price.snapshot"],
      fc
        .record({
          id: fc.constantFrom("price_1", "price_2"),
          nickname: fc.constantFrom("Monthly", null),
          tiers: fc.constantFrom(null, 80, 90),
        })
        .map((p) =>
          price({
            id: p.id,
            nickname: p.nickname,
            product: "prod_1",
            ...(p.tiers === null
              ? {}
              : {
                  billing_scheme: "tiered" as const,
                  tiers_mode: "volume" as const,
                  tiers: [
                    { up_to: 2, unit_amount: 100, flat_amount: null },
                    { up_to: null, unit_amount: p.tiers, flat_amount: 50 },
                  ],
                }),
          }),
        ),
    ),
    withType(
      ["coupon.created", "coupon.updated"],
      couponSpec.map((c) => ({ id: c.id, ...coupon(c) })),
    ),
    withType(
      ["customer.discount.created", "customer.discount.updated", "customer.discount.deleted"],
      fc
        .record({
          id: fc.constantFrom("di_1", "di_2"),
          coupon: couponSpec,
          clover: fc.boolean(),
          sub: fc.constantFrom("sub_1", "sub_2"),
        })
        .map((d) => discount(d.id, d.coupon, { subscription: d.sub, clover: d.clover })),
    ),
  );

const rawEvent: fc.Arbitrary<RawEvent> = shape.chain((s) =>
  fc
    .record({ created: at, picked: objectEvent(s), reuseId: fc.option(fc.integer({ min: 0, max: 5 }), { freq: 4 }) })
    .map(({ created, picked, reuseId }) =>
      // Now and then an event id is reused with different content: the fold must still converge.
      event(
        picked.type,
        created,
        picked.object,
        reuseId === null ? { shape: s } : { shape: s, id: `evt_reused_${reuseId}` },
      ),
    ),
);

const history = fc.array(rawEvent, { maxLength: 40 }).map(decodeAll);

/** Everything observable about a state, in a form where key order and arrival order cannot hide. */
const fingerprint = (state: FoldState): string => {
  const maps = Object.entries(state).map(
    ([name, map]: [string, ReadonlyMap<string, unknown>]) =>
      [name, [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))] as const,
  );
  return JSON.stringify(maps);
};
/** The exact bytes the offline fold prints, under the default and a non-default rule set. */
const output = (state: FoldState): string =>
  JSON.stringify([
    readModels(state).map(toReadModelRow),
    readModels(state, { mrr: PROFITWELL_MRR_RULES }).map((m) => m.mrr),
  ]);

const permutation = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length });

const RUNS = { numRuns: 300 };

describe("fold properties", () => {
  it("any permutation of a history gives the same facts and read models", () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), permutation(events))),
        ([events, shuffled]) => {
          const a = foldAll(events);
          const b = foldAll(shuffled);
          expect(fingerprint(b)).toBe(fingerprint(a));
          expect(output(b)).toBe(output(a));
        },
      ),
      RUNS,
    );
  });

  it("duplicates change nothing", () => {
    fc.assert(
      fc.property(
        history.chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.subarray(events).chain((extra) => permutation([...events, ...extra, ...extra])),
          ),
        ),
        ([events, withDuplicates]) => {
          expect(output(foldAll(withDuplicates))).toBe(output(foldAll(events)));
          expect(fingerprint(foldAll(withDuplicates))).toBe(fingerprint(foldAll(events)));
        },
      ),
      RUNS,
    );
  });

  it("folding a prefix, then the rest, equals folding the whole, at any split point", () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), fc.integer({ min: 0, max: events.length }))),
        ([events, split]) => {
          const whole = foldAll(events);
          const incremental = foldMany(foldAll(events.slice(0, split)), events.slice(split));
          expect(fingerprint(incremental)).toBe(fingerprint(whole));
          expect(output(incremental)).toBe(output(whole));
        },
      ),
      RUNS,
    );
  });

  it("a replay of an already folded history (a rebuild over a live state) changes nothing", () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), permutation(events))),
        ([events, replay]) => {
          const live = foldAll(events);
          expect(fingerprint(foldMany(live, replay))).toBe(fingerprint(live));
        },
      ),
      RUNS,
    );
  });

  it("one event at a time with `fold` equals `foldAll`, and never mutates its input", () => {
    fc.assert(
      fc.property(history, (events) => {
        let state = emptyState();
        const seen: { state: FoldState; print: string }[] = [];
        for (const e of events) {
          seen.push({ state, print: fingerprint(state) });
          state = fold(state, e);
        }
        expect(fingerprint(state)).toBe(fingerprint(foldAll(events)));
        for (const { state: earlier, print } of seen) expect(fingerprint(earlier)).toBe(print);
      }),
      { numRuns: 100 },
    );
  });

  it("read models are well-formed: integer money, sorted currency keys, counts within bounds", () => {
    fc.assert(
      fc.property(history, (events: DecodedEvent[]) => {
        for (const m of readModels(foldAll(events))) {
          for (const money of [m.totalSpent, m.averageOrderValue, m.mrr, m.refundedTotal]) {
            const keys = Object.keys(money);
            expect(keys).toEqual([...keys].sort());
            for (const v of Object.values(money)) expect(Number.isInteger(v)).toBe(true);
          }
          for (const v of Object.values(m.mrr)) expect(v).toBeGreaterThanOrEqual(0);
          for (const v of Object.values(m.refundedTotal)) expect(v).toBeGreaterThan(0);
          expect(m.paymentCount).toBeGreaterThanOrEqual(0);
          if (m.paymentCount === 0) expect(m.lastPaymentAt).toBeNull();
          else expect(m.lastPaymentAt).not.toBeNull();
          if (m.deleted) expect([m.email, m.name, m.phone]).toEqual([null, null, null]);
          expect(m.churned && ["active", "past_due", "trialing"].includes(m.subscriptionStatus ?? "")).toBe(false);
        }
      }),
      RUNS,
    );
  });
});

describe("fold agrees with an independent model on simple histories", () => {
  // Charges only, every event of one charge at a distinct second: the latest snapshot is then
  // simply the one with the greatest `created`, which this model computes without the fold's code.
  const simple = fc
    .uniqueArray(
      fc.record({
        created: fc.integer({ min: T, max: T + 1000 }),
        id: fc.constantFrom("ch_1", "ch_2", "ch_3", "ch_4", "ch_5"),
        status: fc.constantFrom("pending", "succeeded", "failed"),
        amount: fc.integer({ min: 1, max: 10_000 }),
        refunded: fc.integer({ min: 0, max: 100 }),
      }),
      { selector: (c) => `${c.id}@${c.created}`, maxLength: 30 },
    )
    .map((list) =>
      // A charge's amount is fixed at creation; only its status and refunds move.
      list.map((c) => ({ ...c, amount: 1000 + Number(c.id.slice(3)), refunded: Math.min(c.refunded, 1000) })),
    );

  it("payment_count, failed_payment_count, total_spent, refunded_total, last_payment_at", () => {
    fc.assert(
      fc.property(simple, (list) => {
        const latest = new Map<string, (typeof list)[number]>();
        for (const c of list) {
          const prev = latest.get(c.id);
          if (!prev || c.created > prev.created) latest.set(c.id, c);
        }
        // A charge is paid when it was created (captured at once), whatever event first shows it.
        const chargeCreated = (id: string) => T - 100 * Number(id.slice(3));
        const succeeded = [...latest.values()].filter((c) => c.status === "succeeded");
        const spent = succeeded.reduce((sum, c) => sum + c.amount - c.refunded, 0);
        const refunded = succeeded.reduce((sum, c) => sum + c.refunded, 0);
        const lastPayment = succeeded.length ? Math.max(...succeeded.map((c) => chargeCreated(c.id))) : null;

        const events = list.map((c) =>
          event(`charge.${c.status === "succeeded" ? "succeeded" : c.status}`, c.created, {
            ...charge(c.id, "cus_1", {
              status: c.status,
              captured: c.status === "succeeded",
              amount: c.amount,
              amount_captured: c.status === "succeeded" ? c.amount : 0,
              amount_refunded: c.status === "succeeded" ? c.refunded : 0,
              created: chargeCreated(c.id),
            }),
          }),
        );
        const model = readModels(foldAll(decodeAll(events)))[0];
        if (list.length === 0) {
          expect(model).toBeUndefined();
          return;
        }
        expect(model).toMatchObject({
          paymentCount: succeeded.length,
          failedPaymentCount: [...latest.values()].filter((c) => c.status === "failed").length,
          totalSpent: succeeded.length ? { usd: spent } : {},
          refundedTotal: refunded > 0 ? { usd: refunded } : {},
          lastPaymentAt: lastPayment,
        });
      }),
      RUNS,
    );
  });
});
