import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { catalogOf, foldAll, readModels } from "./fold.ts";
import { collectHistory, historyFactsOf, historyOfCustomer, monthlyRowsOf } from "./history-of.ts";
import { monthIndexOf } from "./movements.ts";
import { PROFITWELL_MRR_RULES } from "./mrr.ts";
import { coupon, customer, decodeAll, event, type RawEvent, type Shape, subscription } from "./stripe-test-events.ts";
import { joinVersions, type SubscriptionVersions } from "./subscription-history.ts";

/*
 * Histories spread over a few months (so month ends fall between snapshots) with same-second
 * ties, backfill snapshots, deletions, coupons arriving late, and reused event ids.
 */
const T = Date.UTC(2025, 0, 1) / 1000;
const DAY = 86_400;
const at = fc.oneof(
  fc.integer({ min: T, max: T + 120 * DAY }),
  // Same-second ties and month boundaries.
  fc.constantFrom(T, T + 31 * DAY - 1, T + 31 * DAY, T + 59 * DAY),
);
const customerId = fc.constantFrom("cus_1", "cus_2");

const subscriptionEvent = fc
  .record({
    type: fc.constantFrom(
      "customer.subscription.created",
      "customer.subscription.updated",
      "customer.subscription.deleted",
      "subscription.snapshot",
    ),
    id: fc.constantFrom("sub_1", "sub_2", "sub_3"),
    customer: customerId,
    status: fc.constantFrom("trialing", "active", "active", "past_due", "canceled", "incomplete"),
    cancel: fc.boolean(),
    interval: fc.constantFrom("month" as const, "year" as const, "week" as const),
    quantity: fc.integer({ min: 1, max: 3 }),
    unit: fc.constantFrom(333, 1000, 1999),
    currency: fc.constantFrom("usd", "eur"),
    discounts: fc.subarray(["di_1"]),
    shape: fc.constantFrom<Shape>("legacy", "basil"),
  })
  .map((g) => ({
    type: g.type,
    object: subscription(
      {
        id: g.id,
        customer: g.customer,
        status: g.status,
        cancel_at_period_end: g.cancel,
        currency: g.currency,
        items: [
          {
            id: `price_${g.interval}_${g.unit}`,
            unit_amount: g.unit,
            interval: g.interval,
            quantity: g.quantity,
            currency: g.currency,
          },
        ],
        discounts: g.discounts,
      },
      g.shape,
    ),
  }));

const otherEvent = fc.oneof(
  customerId.map((id) => ({ type: "customer.updated", object: customer(id) })),
  customerId.map((id) => ({ type: "customer.deleted", object: { id, object: "customer", deleted: true } })),
  fc
    .record({ id: fc.constantFrom("co_1"), percent_off: fc.constantFrom(10, 50) })
    .map((c) => ({ type: "coupon.updated", object: coupon({ ...c, duration: "forever" }) })),
);

const rawEvent: fc.Arbitrary<RawEvent> = fc
  .record({
    created: at,
    picked: fc.oneof({ arbitrary: subscriptionEvent, weight: 4 }, { arbitrary: otherEvent, weight: 1 }),
    reuseId: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 5 }),
  })
  .map(({ created, picked, reuseId }) =>
    event(picked.type, created, picked.object, reuseId === null ? {} : { id: `evt_reused_${reuseId}` }),
  );

const history = fc.array(rawEvent, { maxLength: 30 }).map(decodeAll);
const permutation = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length });
const RUNS = { numRuns: 300 };

const rowsOf = (events: Parameters<typeof collectHistory>[0] & readonly unknown[]) =>
  JSON.stringify([
    monthlyRowsOf(foldAll(events), collectHistory(events)),
    monthlyRowsOf(foldAll(events), collectHistory(events), { mrr: PROFITWELL_MRR_RULES }),
  ]);

/** Money without zero amounts: the history leaves out currencies at 0, the read model may keep them. */
const positive = (money: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(money).filter(([, v]) => v !== 0));

describe("MRR history properties", () => {
  it("any delivery order gives the same monthly rows", () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), permutation(events))),
        ([events, shuffled]) => {
          expect(rowsOf(shuffled)).toBe(rowsOf(events));
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
          expect(rowsOf(withDuplicates)).toBe(rowsOf(events));
        },
      ),
      RUNS,
    );
  });

  it("joining two halves' snapshot sets equals collecting the whole (a semilattice join)", () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), fc.integer({ min: 0, max: events.length }))),
        ([events, split]) => {
          const whole = collectHistory(events);
          const left = collectHistory(events.slice(0, split));
          const right = collectHistory(events.slice(split));
          const ids = new Set([...left.keys(), ...right.keys()]);
          expect([...ids].sort()).toEqual([...whole.keys()].sort());
          for (const id of ids) {
            const joined: SubscriptionVersions = joinVersions(left.get(id) ?? [], right.get(id) ?? []);
            expect(JSON.stringify(joined)).toBe(JSON.stringify(whole.get(id)));
          }
        },
      ),
      RUNS,
    );
  });

  it("the MRR at the end of the last month equals today's mrr field, for every customer", () => {
    fc.assert(
      fc.property(history, (events) => {
        const state = foldAll(events);
        const hist = collectHistory(events);
        const models = new Map(readModels(state).map((m) => [m.customerId, m]));
        const catalog = catalogOf(state);
        for (const facts of historyFactsOf(state, hist)) {
          const points = historyOfCustomer(facts, catalog);
          const model = models.get(facts.customerId);
          expect(model).toBeDefined();
          expect(points.at(-1)?.mrr ?? {}).toEqual(positive(model?.mrr ?? {}));
          // The same through the monthly rows, carried up to the month of the last event.
          const lastMonth = Math.max(...events.map((e) => monthIndexOf(e.meta.created)));
          const atEnd = Object.fromEntries(
            monthlyRowsOf(state, hist, undefined, lastMonth)
              .filter((r) => r.customer_id === facts.customerId && r.mrr > 0)
              .filter((r) => monthIndexOf(Date.parse(r.month) / 1000) === lastMonth)
              .map((r) => [r.currency, r.mrr]),
          );
          expect(atEnd).toEqual(positive(model?.mrr ?? {}));
        }
        // Customers with MRR now all have a history.
        const withHistory = new Set(historyFactsOf(state, hist).map((f) => f.customerId));
        for (const model of models.values())
          if (Object.keys(positive(model.mrr)).length > 0) expect(withHistory.has(model.customerId)).toBe(true);
      }),
      RUNS,
    );
  });
});
