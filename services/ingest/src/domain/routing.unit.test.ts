import { describe, expect, it } from "vitest";
import { hasStripeFixtures, objects, stripeEventBody, stripeFixture } from "../testing/stripe-signing.ts";
import { parseStripeEvent, type StripeEvent } from "./envelope.ts";
import { customerIdOf, HEADER, type RoutingContext, routeEvent, routingKeyOf, topicConfigSchema } from "./routing.ts";

const topics = { testTopic: "stripe.events.test", liveTopic: "stripe.events.live" };
const RECEIVED_AT = Date.UTC(2024, 6, 26, 0, 34, 20, 123);
const webhook: RoutingContext = {
  topics,
  receivedAt: RECEIVED_AT,
  provenance: { source: "webhook", verifiedBy: "primary" },
};

function eventOf(input: Parameters<typeof stripeEventBody>[0]): StripeEvent {
  const result = parseStripeEvent(Buffer.from(stripeEventBody(input)));
  if (!result.ok) throw new Error(`fixture does not parse: ${result.reason}`);
  return result.event;
}

const CUS = "cus_QXg1o8vcGmoR32";

describe("routingKeyOf", () => {
  it.each([
    { name: "a customer: its own id", type: "customer.updated", object: objects.customer(), key: `platform:${CUS}` },
    {
      name: "a deleted customer",
      type: "customer.deleted",
      object: { id: CUS, object: "customer", deleted: true },
      key: `platform:${CUS}`,
    },
    {
      name: "a charge with a customer id",
      type: "charge.succeeded",
      object: objects.charge(CUS),
      key: `platform:${CUS}`,
    },
    {
      name: "a charge with an expanded customer object",
      type: "charge.succeeded",
      object: objects.charge(objects.customer()),
      key: `platform:${CUS}`,
    },
    {
      name: "a charge with an expanded deleted customer",
      type: "charge.refunded",
      object: objects.charge({ id: CUS, object: "customer", deleted: true }),
      key: `platform:${CUS}`,
    },
    {
      name: "a guest charge (customer null): the charge id",
      type: "charge.succeeded",
      object: objects.charge(null),
      key: "platform:ch_3PgafuB7WZ01zgkW0qLxkJ2a",
    },
    {
      name: "an empty customer string: the object id",
      type: "charge.succeeded",
      object: objects.charge(""),
      key: "platform:ch_3PgafuB7WZ01zgkW0qLxkJ2a",
    },
    {
      name: "an expanded customer without id: the object id",
      type: "charge.succeeded",
      object: objects.charge({ object: "customer" }),
      key: "platform:ch_3PgafuB7WZ01zgkW0qLxkJ2a",
    },
    {
      name: "a dispute (no customer field): the dispute id",
      type: "charge.dispute.created",
      object: objects.dispute(),
      key: "platform:dp_1Pgc71B7WZ01zgkWMevJiAUx",
    },
    {
      name: "a product: the product id",
      type: "product.updated",
      object: { id: "prod_QXg1hqf4jFNsqG", object: "product", name: "T-shirt" },
      key: "platform:prod_QXg1hqf4jFNsqG",
    },
    {
      name: "a Connect customer",
      type: "customer.created",
      account: "acct_1Pgc6rB7WZ01zgkW",
      object: objects.customer(),
      key: `acct_1Pgc6rB7WZ01zgkW:${CUS}`,
    },
    {
      name: "a Connect charge with a customer",
      type: "charge.succeeded",
      account: "acct_1Pgc6rB7WZ01zgkW",
      object: objects.charge(CUS),
      key: `acct_1Pgc6rB7WZ01zgkW:${CUS}`,
    },
    {
      name: "a Connect product",
      type: "product.created",
      account: "acct_1Pgc6rB7WZ01zgkW",
      object: { id: "prod_QXg1hqf4jFNsqG", object: "product" },
      key: "acct_1Pgc6rB7WZ01zgkW:prod_QXg1hqf4jFNsqG",
    },
  ])("keys $name", ({ key, ...input }) => {
    expect(routingKeyOf(eventOf(input))).toBe(key);
  });

  it("keys an invoice preview (invoice.upcoming, no id) by its customer, beside the customer's other events", () => {
    expect(routingKeyOf(eventOf({ type: "invoice.upcoming", object: objects.upcomingInvoice() }))).toBe(
      routingKeyOf(eventOf({ type: "customer.created", object: { ...objects.customer(), id: "cus_QXg1o8vcGmoR32" } })),
    );
  });

  it("gives no key to any other object without id, even when it names a customer (cash_balance)", () => {
    const cash = { object: "cash_balance", customer: "cus_QXg1o8vcGmoR32", available: { eur: 100 } };
    expect(routingKeyOf(eventOf({ type: "cash_balance.funds_available", object: cash }))).toBeUndefined();
  });

  it("puts a customer's charges and the customer itself on the same key", () => {
    const keys = new Set([
      routingKeyOf(eventOf({ type: "customer.created", object: objects.customer() })),
      routingKeyOf(eventOf({ type: "charge.succeeded", object: objects.charge(CUS) })),
      routingKeyOf(eventOf({ type: "charge.refunded", object: objects.charge(objects.customer()) })),
    ]);
    expect(keys.size).toBe(1);
  });

  it("customerIdOf ignores a non-string, non-object customer field", () => {
    expect(customerIdOf({ id: "x_1", object: "thing", customer: 42 })).toBeUndefined();
    expect(customerIdOf({ id: "x_1", object: "thing", customer: ["cus_1"] })).toBeUndefined();
  });
});

describe("routeEvent", () => {
  const charge = eventOf({ type: "charge.succeeded", object: objects.charge(CUS), created: 1_721_954_059 });

  it("builds topic, key and headers for a webhook", () => {
    expect(routeEvent(charge, webhook)).toEqual({
      ok: true,
      topic: "stripe.events.test",
      key: `platform:${CUS}`,
      headers: {
        event_id: "evt_1PgcB4B7WZ01zgkWt4DaqYzK",
        event_type: "charge.succeeded",
        created: "1721954059",
        api_version: "2025-03-31.basil",
        received_at: "2024-07-26T00:34:20.123Z",
        source: "webhook",
        verified_by: "primary",
      },
    });
  });

  it("chooses the topic from livemode", () => {
    const live = eventOf({ type: "charge.succeeded", object: objects.charge(CUS), livemode: true });
    expect(routeEvent(live, webhook)).toMatchObject({ ok: true, topic: "stripe.events.live" });
    expect(routeEvent(charge, webhook)).toMatchObject({ ok: true, topic: "stripe.events.test" });
  });

  it.each(["backfill", "catch-up"] as const)("marks %s records and leaves verified_by out", (source) => {
    const result = routeEvent(charge, { topics, receivedAt: RECEIVED_AT, provenance: { source } });
    expect(result).toMatchObject({ ok: true, headers: { [HEADER.source]: source } });
    if (result.ok) expect(result.headers).not.toHaveProperty(HEADER.verifiedBy);
  });

  it("leaves api_version out when the event has none", () => {
    const event = eventOf({ type: "customer.created", object: objects.customer(), apiVersion: null });
    const result = routeEvent(event, webhook);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.headers).not.toHaveProperty(HEADER.apiVersion);
  });

  it("reports unkeyed events instead of inventing a key", () => {
    const { customer: _, ...anonymous } = objects.upcomingInvoice();
    const upcoming = eventOf({ type: "invoice.upcoming", object: anonymous });
    expect(routeEvent(upcoming, webhook)).toEqual({ ok: false, reason: "unkeyed" });
  });

  it("only ever carries string header values", () => {
    const result = routeEvent(charge, webhook);
    if (!result.ok) throw new Error("unexpected");
    for (const value of Object.values(result.headers)) expect(typeof value).toBe("string");
  });
});

describe("topicConfigSchema", () => {
  it("accepts two distinct valid names", () => {
    expect(topicConfigSchema.safeParse(topics).success).toBe(true);
  });

  it.each([
    { name: "the same topic for both modes", input: { testTopic: "stripe.events", liveTopic: "stripe.events" } },
    { name: "an empty name", input: { testTopic: "", liveTopic: "stripe.events.live" } },
    { name: "a name with a space", input: { testTopic: "stripe events", liveTopic: "stripe.events.live" } },
    { name: "a name of 250 characters", input: { testTopic: "a".repeat(250), liveTopic: "stripe.events.live" } },
    { name: "'..'", input: { testTopic: "..", liveTopic: "stripe.events.live" } },
  ])("refuses $name", ({ input }) => {
    expect(topicConfigSchema.safeParse(input).success).toBe(false);
  });
});

describe.skipIf(!hasStripeFixtures)("routing Stripe's example objects", () => {
  it.each([
    ["customer", "customer.updated", "platform:cus_QXg1o8vcGmoR32"],
    ["subscription", "customer.subscription.updated", "platform:cus_QXg1o8vcGmoR32"],
    ["invoice", "invoice.paid", "platform:cus_QXg1o8vcGmoR32"],
    ["charge", "charge.succeeded", "platform:ch_1PgafuB7WZ01zgkWXYmPNZs8"],
    ["dispute", "charge.dispute.created", "platform:dp_1Pgc71B7WZ01zgkWMevJiAUx"],
    ["refund", "refund.created", "platform:re_1Pgc72B7WZ01zgkWqPvrRrPE"],
  ])("keys a %s (%s) as %s", (resource, type, key) => {
    expect(routingKeyOf(eventOf({ type, object: stripeFixture(resource) }))).toBe(key);
  });

  it("keys a credit grant by its expanded customer object", () => {
    const grant = stripeFixture("billing.credit_grant");
    expect(grant["customer"]).toMatchObject({ object: "customer" });
    grant["id"] = "credgr_test_61R";
    grant["customer"] = { ...(grant["customer"] as object), id: CUS };
    expect(routingKeyOf(eventOf({ type: "billing.credit_grant.created", object: grant }))).toBe(`platform:${CUS}`);
  });
});
