import { BACKFILL_RESOURCES } from "../commands/cursor-state.ts";
/**
 * Realistic Stripe data for the fake server: Stripe's own example objects (the shared
 * fixtures3.json, read through the domain test support, never copied) with distinct ids, linked
 * customers, varied statuses and spread `created` times, some of them sharing a second.
 */
import { PROJECTOR_EVENT_TYPES } from "../commands/event-types.ts";
import type { FakeListResource, FakeStripe, StripeObject } from "./fake-stripe.ts";
import { stripeFixture } from "./stripe-signing.ts";

export interface SeedOptions {
  /** Objects per resource. */
  readonly perResource: number;
  readonly events: number;
  /** `created` of the newest object, unix seconds. */
  readonly newest: number;
  /** Seconds between consecutive objects; every pair shares a second. */
  readonly spacing: number;
  /** Seconds between consecutive events. */
  readonly eventSpacing: number;
}

export interface SeededEvent {
  readonly event: StripeObject;
  readonly deliverySuccess: boolean;
}

export type Seed = Record<Exclude<FakeListResource, "events" | "webhook_endpoints">, StripeObject[]> & {
  readonly events: SeededEvent[];
};

const SUBSCRIPTION_STATUSES = ["active", "past_due", "canceled", "trialing", "incomplete_expired", "unpaid"];
const CHARGE_STATUSES = ["succeeded", "failed", "pending", "succeeded"];
/** Types outside the projector's list, to check the types[] filter. */
const OTHER_EVENT_TYPES = ["balance.available", "payment_intent.created", "setup_intent.created"];

function id(prefix: string, n: number): string {
  return `${prefix}_Seed${String(n).padStart(6, "0")}`;
}

export function buildSeed(opts: SeedOptions): Seed {
  const created = (i: number) => opts.newest - Math.floor(i / 2) * opts.spacing;
  const n = opts.perResource;
  const range = Array.from({ length: n }, (_, i) => i);

  const products = range.map((i) => ({
    ...stripeFixture("product"),
    id: id("prod", i),
    name: `Plan ${i}`,
    created: created(i),
    updated: created(i),
  }));
  const prices = range.map((i) => ({
    ...stripeFixture("price"),
    id: id("price", i),
    product: id("prod", i),
    unit_amount: 1000 + i * 100,
    unit_amount_decimal: String(1000 + i * 100),
    created: created(i),
  }));
  const customers = range.map((i) => ({
    ...stripeFixture("customer"),
    id: id("cus", i),
    email: `customer${i}@example.com`,
    name: `Customer ${i}`,
    metadata: i % 3 === 0 ? { customer_tier: "gold" } : {},
    created: created(i),
  }));
  const subscriptions = range.map((i) => {
    const fixture = stripeFixture("subscription");
    const status = SUBSCRIPTION_STATUSES[i % SUBSCRIPTION_STATUSES.length];
    return {
      ...fixture,
      id: id("sub", i),
      customer: id("cus", i),
      status,
      created: created(i),
      start_date: created(i),
      canceled_at: status === "canceled" ? created(i) + 60 : null,
      ended_at: status === "canceled" ? created(i) + 60 : null,
      cancel_at: null,
      items: {
        object: "list",
        has_more: false,
        url: `/v1/subscription_items?subscription=${id("sub", i)}`,
        data: [
          {
            ...stripeFixture("subscription_item"),
            id: id("si", i),
            subscription: id("sub", i),
            price: prices[i],
            quantity: 1,
            created: created(i),
            current_period_start: created(i),
            current_period_end: created(i) + 30 * 86_400,
          },
        ],
      },
    };
  });
  const charges = range.map((i) => {
    const status = CHARGE_STATUSES[i % CHARGE_STATUSES.length];
    return {
      ...stripeFixture("charge"),
      id: id("ch", i),
      customer: i % 5 === 4 ? null : id("cus", i),
      amount: 2000 + i,
      amount_captured: status === "succeeded" ? 2000 + i : 0,
      captured: status === "succeeded",
      paid: status === "succeeded",
      status,
      created: created(i),
      refunds: { object: "list", data: [], has_more: false, url: `/v1/charges/${id("ch", i)}/refunds` },
    };
  });
  const invoices = range.map((i) => ({
    ...stripeFixture("invoice"),
    id: id("in", i),
    customer: id("cus", i),
    status: i % 2 === 0 ? "paid" : "open",
    created: created(i),
  }));
  const disputes = range.map((i) => ({
    ...stripeFixture("dispute"),
    id: id("dp", i),
    charge: id("ch", i),
    status: i % 2 === 0 ? "needs_response" : "lost",
    created: created(i),
  }));

  const allTypes = [...PROJECTOR_EVENT_TYPES, ...OTHER_EVENT_TYPES];
  const events = Array.from({ length: opts.events }, (_, i): SeededEvent => {
    const type = allTypes[i % allTypes.length] ?? "customer.updated";
    const at = opts.newest - Math.floor(i / 2) * opts.eventSpacing;
    return {
      event: {
        id: id("evt", i),
        object: "event",
        api_version: "2025-03-31.basil",
        created: at,
        data: {
          object: objectFor(type, i % n, { customers, charges, subscriptions, invoices, disputes, products, prices }),
        },
        livemode: false,
        pending_webhooks: 0,
        request: { id: null, idempotency_key: null },
        type,
      },
      deliverySuccess: i % 3 !== 0,
    };
  });
  return { customers, subscriptions, charges, invoices, disputes, products, prices, events };
}

function objectFor(type: string, i: number, objects: Omit<Seed, "events">): StripeObject {
  const pick = (list: StripeObject[]) => list[i] ?? {};
  if (type === "invoice.upcoming") {
    // Stripe sends upcoming invoices without an id: keyed by their customer.
    const { id: _id, ...rest } = pick(objects.invoices);
    return rest;
  }
  if (type === "customer.source.expiring") {
    return { ...stripeFixture("card"), id: `card_Seed${i}`, customer: pick(objects.customers)["id"] };
  }
  if (type.startsWith("customer.subscription.")) return pick(objects.subscriptions);
  if (type.startsWith("customer.")) return pick(objects.customers);
  if (type.startsWith("charge.dispute.")) return pick(objects.disputes);
  if (type.startsWith("charge.")) return pick(objects.charges);
  if (type.startsWith("invoice_payment.")) {
    return { ...stripeFixture("invoice_payment"), id: `inpay_Seed${i}`, invoice: pick(objects.invoices)["id"] };
  }
  if (type.startsWith("invoice.")) return pick(objects.invoices);
  if (type.startsWith("product.")) return pick(objects.products);
  if (type.startsWith("price.")) return pick(objects.prices);
  if (type.startsWith("checkout.session.")) return { ...stripeFixture("checkout.session"), id: `cs_test_Seed${i}` };
  if (type.startsWith("refund."))
    return { ...stripeFixture("refund"), id: `re_Seed${i}`, charge: pick(objects.charges)["id"] };
  if (type.startsWith("payment_intent.")) return { ...stripeFixture("payment_intent"), id: `pi_Seed${i}` };
  return { ...stripeFixture("balance") };
}

export function loadSeed(fake: FakeStripe, seed: Seed): void {
  for (const resource of BACKFILL_RESOURCES) {
    fake.add(resource, ...seed[resource]);
  }
  for (const { event, deliverySuccess } of seed.events) fake.addEvent(event, { deliverySuccess });
}
