import { describe, expect, it } from "vitest";
import { evolveCharge, evolveCustomer, evolveSubscription, scrubDeletedCustomer, type Version } from "./facts.ts";
import { foldAll } from "./fold.ts";
import type { ChargeSnapshot, CustomerSnapshot, SubscriptionSnapshot } from "./snapshots.ts";
import { charge, customer, decodeAll, event, projectOne, type RawEvent, subscription } from "./stripe-test-events.ts";

const T = 1_700_000_000;

const version = <T>(data: T, at: number, fields: Partial<Version<T>> = {}): Version<T> => ({
  at,
  eventId: `evt_${at}`,
  eventType: "x.updated",
  backfill: false,
  deleted: false,
  data,
  ...fields,
});

/** Folds `events` in the given order and in reverse; both must agree. */
const bothOrders = (events: RawEvent[]) => {
  const forward = foldAll(decodeAll(events));
  const backward = foldAll(decodeAll([...events].reverse()));
  expect(backward).toEqual(forward);
  return forward;
};

const customerSnap = (email: string): CustomerSnapshot => ({
  id: "cus_1",
  email,
  name: null,
  phone: null,
  currency: null,
  created: T,
  metadata: {},
  discount: null,
});

describe("ordering rule: greater event created wins", () => {
  it("whatever the arrival order", () => {
    const older = version(customerSnap("old@example.com"), T);
    const newer = version(customerSnap("new@example.com"), T + 1);
    expect(evolveCustomer(evolveCustomer(undefined, older), newer).winner).toBe(newer);
    expect(evolveCustomer(evolveCustomer(undefined, newer), older).winner).toBe(newer);
  });

  it("tracks the greatest event time seen, even from a losing snapshot", () => {
    const deleted = version(customerSnap("a@example.com"), T, { deleted: true });
    const later = version(customerSnap("b@example.com"), T + 9);
    const fact = evolveCustomer(evolveCustomer(undefined, deleted), later);
    // The deleted version wins, without its personal data (scrubDeletedCustomer).
    expect(fact.winner).toEqual({ ...deleted, data: { ...deleted.data, email: null } });
    expect(fact.lastEventAt).toBe(T + 9);
  });

  it("is idempotent", () => {
    const v = version(customerSnap("a@example.com"), T);
    const once = evolveCustomer(undefined, v);
    expect(evolveCustomer(once, v)).toEqual(once);
  });
});

describe("ordering rule: same-second ties", () => {
  const sub = (status: string): SubscriptionSnapshot => ({
    id: "sub_1",
    customer: "cus_1",
    status,
    created: T,
    startDate: T,
    trialEnd: null,
    cancelAtPeriodEnd: false,
    currentPeriodEnd: null,
    currency: "usd",
    items: [],
    discounts: [],
  });

  it.each([
    ["incomplete", "active"],
    ["incomplete", "trialing"],
    ["trialing", "active"],
    ["active", "past_due"],
    ["past_due", "unpaid"],
    ["unpaid", "canceled"],
    ["incomplete", "incomplete_expired"],
    ["some_future_status", "incomplete"],
  ])("subscription %s is older than %s", (before, after) => {
    // Event ids chosen so the id tie-break would pick the other one.
    const a = version(sub(before), T, { eventId: "evt_z" });
    const b = version(sub(after), T, { eventId: "evt_a" });
    expect(evolveSubscription(evolveSubscription(undefined, a), b).winner.data.status).toBe(after);
    expect(evolveSubscription(evolveSubscription(undefined, b), a).winner.data.status).toBe(after);
  });

  const ch = (fields: Partial<ChargeSnapshot>): ChargeSnapshot => ({
    id: "ch_1",
    customer: "cus_1",
    status: "succeeded",
    captured: true,
    amount: 1000,
    amountCaptured: 1000,
    amountRefunded: 0,
    currency: "usd",
    created: T,
    ...fields,
  });

  it.each([
    ["pending → succeeded", ch({ status: "pending", captured: false }), ch({})],
    ["pending → failed", ch({ status: "pending", captured: false }), ch({ status: "failed", captured: false })],
    ["uncaptured → captured", ch({ captured: false, amountCaptured: 0 }), ch({})],
    ["refund grows", ch({ amountRefunded: 100 }), ch({ amountRefunded: 300 })],
  ])("charge: %s", (_name, before, after) => {
    const a = version(before, T, { eventId: "evt_z" });
    const b = version(after, T, { eventId: "evt_a" });
    expect(evolveCharge(evolveCharge(undefined, a), b).winner.data).toEqual(after);
    expect(evolveCharge(evolveCharge(undefined, b), a).winner.data).toEqual(after);
  });

  it("equal rank: the content decides, then the event id, never the arrival order", () => {
    const a = version(customerSnap("a@example.com"), T, { eventId: "evt_1" });
    const b = version(customerSnap("b@example.com"), T, { eventId: "evt_2" });
    const ab = evolveCustomer(evolveCustomer(undefined, a), b).winner;
    const ba = evolveCustomer(evolveCustomer(undefined, b), a).winner;
    expect(ab).toBe(ba);
    const sameDataA = version(customerSnap("a@example.com"), T, { eventId: "evt_1" });
    const sameDataB = version(customerSnap("a@example.com"), T, { eventId: "evt_2" });
    expect(evolveCustomer(evolveCustomer(undefined, sameDataA), sameDataB).winner.eventId).toBe("evt_2");
    expect(evolveCustomer(evolveCustomer(undefined, sameDataB), sameDataA).winner.eventId).toBe("evt_2");
  });

  it("a backfill snapshot beats a webhook of the same second: it was read afterwards", () => {
    const webhook = event(
      "customer.subscription.updated",
      T,
      subscription({ id: "sub_1", customer: "cus_1", status: "past_due" }),
    );
    const backfill = {
      ...event("subscription.snapshot", T, subscription({ id: "sub_1", customer: "cus_1", status: "active" })),
      id: "evt_snapshot_0",
      sbs_source: "backfill",
    };
    const state = bothOrders([webhook, backfill]);
    expect(state.subscriptions.get("sub_1")?.winner.data.status).toBe("active");
    const later = event(
      "customer.subscription.updated",
      T + 1,
      subscription({ id: "sub_1", customer: "cus_1", status: "unpaid" }),
    );
    expect(bothOrders([webhook, backfill, later]).subscriptions.get("sub_1")?.winner.data.status).toBe("unpaid");
  });

  it("metadata key order does not make two equal snapshots differ", () => {
    const a = customer("cus_1", { metadata: { a: "1", b: "2" } });
    const b = customer("cus_1", { metadata: { b: "2", a: "1" } });
    const state = bothOrders([
      event("customer.updated", T, a, { id: "evt_1" }),
      event("customer.updated", T, b, { id: "evt_1" }),
    ]);
    expect(state.customers.get("cus_1")?.winner.data.metadata).toEqual({ a: "1", b: "2" });
  });
});

describe("deletion is absorbing", () => {
  it.each([
    ["an older snapshot", T - 10],
    ["a same-second snapshot", T],
    ["a newer snapshot (Stripe ids are never reused)", T + 10],
  ])("customer.deleted is not undone by %s", (_name, at) => {
    const events = [
      event("customer.deleted", T, { id: "cus_1", object: "customer", deleted: true }),
      event("customer.updated", at, customer("cus_1", { email: "back@example.com" })),
    ];
    bothOrders(events);
    const model = projectOne(events, "cus_1");
    expect(model.deleted).toBe(true);
    expect(model.email).toBeNull();
  });

  it("product.deleted and price.deleted absorb too", () => {
    const state = bothOrders([
      event("product.deleted", T, { id: "prod_1", object: "product", name: "Gold" }),
      event("product.updated", T + 5, { id: "prod_1", object: "product", name: "Platinum" }),
      event("price.deleted", T, { id: "price_1", object: "price", nickname: "Monthly" }),
      event("price.updated", T + 5, { id: "price_1", object: "price", nickname: "Yearly" }),
    ]);
    expect(state.products.get("prod_1")?.winner).toMatchObject({ deleted: true, data: { name: "Gold" } });
    expect(state.prices.get("price_1")?.winner).toMatchObject({ deleted: true, data: { nickname: "Monthly" } });
  });

  it("customer.subscription.deleted is final", () => {
    const state = bothOrders([
      event("customer.subscription.deleted", T, subscription({ id: "sub_1", customer: "cus_1", status: "canceled" })),
      event("customer.subscription.updated", T + 5, subscription({ id: "sub_1", customer: "cus_1", status: "active" })),
    ]);
    expect(state.subscriptions.get("sub_1")?.winner.data.status).toBe("canceled");
  });

  it("keeps created_at even when a deletion stub wins", () => {
    const model = projectOne(
      [
        event("customer.created", T, customer("cus_1", { created: T - 50 })),
        event("customer.deleted", T + 1, { id: "cus_1", object: "customer", deleted: true }),
      ],
      "cus_1",
    );
    expect(model.createdAt).toBe(T - 50);
  });
});

describe("charge payment time (last_payment_at)", () => {
  // Paid at T - 500 (its `created`); every later event is something that happened to it afterwards.
  const paid = charge("ch_1", "cus_1", { created: T - 500 });
  const refunded = { ...paid, amount_refunded: 100, refunded: false };
  const YEAR = 365 * 86_400;
  const cases: { name: string; events: RawEvent[]; paidAt: number }[] = [
    {
      name: "charge.succeeded at the charge's own second",
      events: [event("charge.succeeded", T - 500, paid), event("charge.refunded", T + 90, refunded)],
      paidAt: T - 500,
    },
    {
      name: "only a charge.refunded webhook shows it succeeded: dated when paid, not at the refund",
      events: [event("charge.refunded", T + 90, refunded)],
      paidAt: T - 500,
    },
    {
      name: "a backfill listing, then a refund webhook a year later",
      events: [event("charge.snapshot", T, paid), event("charge.refunded", T + YEAR, refunded)],
      paidAt: T - 500,
    },
    {
      name: "charge.updated and a dispute long after",
      events: [event("charge.updated", T + 10 * 86_400, paid)],
      paidAt: T - 500,
    },
    {
      name: "authorised, captured an hour later: the capture time",
      events: [
        event(
          "charge.succeeded",
          T - 500,
          charge("ch_1", "cus_1", { created: T - 500, captured: false, amount_captured: 0 }),
        ),
        event("charge.captured", T + 3600, paid),
        event("charge.refunded", T + YEAR, refunded),
      ],
      paidAt: T + 3600,
    },
    {
      name: "authorised, its capture seen only in a later refund: not before it was last seen uncaptured",
      events: [
        event(
          "charge.succeeded",
          T - 500,
          charge("ch_1", "cus_1", { created: T - 500, captured: false, amount_captured: 0 }),
        ),
        event("charge.refunded", T + YEAR, refunded),
      ],
      paidAt: T - 500,
    },
    {
      name: "authorised and seen uncaptured in an update a day later, capture unseen",
      events: [
        event(
          "charge.succeeded",
          T - 500,
          charge("ch_1", "cus_1", { created: T - 500, captured: false, amount_captured: 0 }),
        ),
        event(
          "charge.updated",
          T + 86_400,
          charge("ch_1", "cus_1", { created: T - 500, captured: false, amount_captured: 0 }),
        ),
        event("charge.refunded", T + YEAR, refunded),
      ],
      paidAt: T + 86_400,
    },
  ];

  it.each(cases.map((c) => [c.name, c] as const))("%s (both orders)", (_name, c) => {
    expect(projectOne(c.events, "cus_1").lastPaymentAt).toBe(c.paidAt);
    expect(projectOne([...c.events].reverse(), "cus_1").lastPaymentAt).toBe(c.paidAt);
  });

  it("records the capture and the last uncaptured sighting as order-free bounds", () => {
    const state = bothOrders([
      event("charge.succeeded", T, charge("ch_1", "cus_1", { captured: false, amount_captured: 0 })),
      event("charge.captured", T + 3600, charge("ch_1", "cus_1")),
    ]);
    expect(state.charges.get("ch_1")).toMatchObject({ capturedAt: T + 3600, uncapturedAt: T });
  });
});

describe("a deleted customer's fact keeps only what the metrics need", () => {
  const full: CustomerSnapshot = {
    id: "cus_1",
    email: "ada@example.com",
    name: "Ada",
    phone: "+44 20 7946 0000",
    currency: "eur",
    created: T,
    metadata: { crm: "42" },
    discount: { id: "di_1", coupon: "co_1", customer: "cus_1", subscription: null },
  };
  const stripped = { ...full, email: null, name: null, phone: null, metadata: {}, discount: null };

  it("whatever the order of created and deleted, and from a fact stored before the rule", () => {
    const created = version(full, T, { eventType: "customer.created" });
    const deleted = version(full, T + 5, { eventType: "customer.deleted", deleted: true });
    for (const fact of [
      evolveCustomer(evolveCustomer(undefined, created), deleted),
      evolveCustomer(evolveCustomer(undefined, deleted), created),
      // A fact written before scrubbing existed: the next event scrubs it.
      evolveCustomer({ winner: deleted, lastEventAt: T + 5, createdAt: T }, created),
    ]) {
      expect(fact.winner.data).toEqual(stripped);
      expect(fact.winner.deleted).toBe(true);
      expect(fact.createdAt).toBe(T);
      expect(JSON.stringify(fact)).not.toContain("ada@example.com");
    }
  });

  it("leaves live customers alone", () => {
    const created = version(full, T);
    expect(scrubDeletedCustomer(created)).toBe(created);
    expect(evolveCustomer(undefined, created).winner.data.email).toBe("ada@example.com");
  });
});
