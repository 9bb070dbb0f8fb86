import { describe, expect, it } from "vitest";
import {
  hasStripeFixtures,
  objects,
  STRIPE_FIXTURES_PATH,
  stripeEventBody,
  stripeFixture,
} from "../testing/stripe-signing.ts";
import { type EnvelopeParseResult, parseStripeEvent } from "./envelope.ts";

const bytes = (text: string) => Buffer.from(text, "utf8");
const validEvent = () => JSON.parse(stripeEventBody({ type: "customer.created", object: objects.customer() }));

describe("parseStripeEvent", () => {
  it("returns the parsed event, its object id and the payload text exactly as received", () => {
    const raw = stripeEventBody({ type: "charge.succeeded", object: objects.charge("cus_QXg1o8vcGmoR32") });
    const result = parseStripeEvent(bytes(raw));
    expect(result).toMatchObject({
      ok: true,
      kind: "keyed",
      objectId: "ch_3PgafuB7WZ01zgkW0qLxkJ2a",
      event: { id: "evt_1PgcB4B7WZ01zgkWt4DaqYzK", type: "charge.succeeded", api_version: "2025-03-31.basil" },
    });
    if (result.ok) expect(result.payload).toBe(raw);
  });

  it("keeps fields it does not validate (pending_webhooks, request, unknown top-level fields)", () => {
    const event = { ...validEvent(), context: "acct_1/ctx", some_future_field: { a: 1 } };
    const result = parseStripeEvent(bytes(JSON.stringify(event)));
    expect(result).toMatchObject({ ok: true, event: { pending_webhooks: 1, context: "acct_1/ctx" } });
  });

  it("accepts unknown event types: they are stored and acknowledged", () => {
    const raw = stripeEventBody({ type: "v2.some.future_event", object: objects.customer() });
    expect(parseStripeEvent(bytes(raw))).toMatchObject({ ok: true, kind: "keyed" });
  });

  it.each([
    {
      name: "Connect account",
      patch: { account: "acct_1Pgc6rB7WZ01zgkW" },
      expected: { account: "acct_1Pgc6rB7WZ01zgkW" },
    },
    { name: "null api_version", patch: { api_version: null }, expected: { api_version: null } },
    { name: "request as a bare id (API versions before 2017-05-25)", patch: { request: "req_x" }, expected: {} },
    { name: "null request (automatic change)", patch: { request: null }, expected: {} },
    { name: "request without idempotency key", patch: { request: { id: null } }, expected: {} },
    {
      name: "previous_attributes",
      patch: { data: { object: objects.customer(), previous_attributes: { email: null } } },
      expected: {},
    },
  ])("accepts $name", ({ patch, expected }) => {
    const result = parseStripeEvent(bytes(JSON.stringify({ ...validEvent(), ...patch })));
    expect(result).toMatchObject({ ok: true, kind: "keyed", event: expected });
  });

  it("normalises a missing api_version to null", () => {
    const { api_version: _, ...event } = validEvent();
    expect(parseStripeEvent(bytes(JSON.stringify(event)))).toMatchObject({ ok: true, event: { api_version: null } });
  });

  it("keys an invoice preview (invoice.upcoming, no id) by a deterministic id over its customer and attempt", () => {
    const raw = stripeEventBody({ type: "invoice.upcoming", object: objects.upcomingInvoice() });
    const result = parseStripeEvent(bytes(raw));
    expect(result).toMatchObject({
      ok: true,
      kind: "keyed",
      objectId: "upcoming_cus_QXg1o8vcGmoR32_none_1724632459",
      event: { type: "invoice.upcoming" },
    });
    // Same preview delivered again (Stripe retries): same id; another attempt: another id.
    expect(parseStripeEvent(bytes(raw))).toMatchObject({ objectId: "upcoming_cus_QXg1o8vcGmoR32_none_1724632459" });
    const later = { ...objects.upcomingInvoice(), next_payment_attempt: 1_727_310_859, subscription: "sub_1" };
    expect(parseStripeEvent(bytes(stripeEventBody({ type: "invoice.upcoming", object: later })))).toMatchObject({
      objectId: "upcoming_cus_QXg1o8vcGmoR32_sub_1_1727310859",
    });
  });

  it("leaves an invoice preview without customer unkeyed", () => {
    const { customer: _, ...anonymous } = objects.upcomingInvoice();
    const raw = stripeEventBody({ type: "invoice.upcoming", object: anonymous });
    expect(parseStripeEvent(bytes(raw))).toMatchObject({ ok: true, kind: "unkeyed" });
  });

  it.each([
    { name: "plain text", body: bytes("hello") },
    { name: "empty body", body: Buffer.alloc(0) },
    { name: "truncated JSON", body: bytes(stripeEventBody({ type: "customer.created", object: {} }).slice(0, 40)) },
    { name: "form-encoded body", body: bytes("id=evt_1&type=customer.created") },
    { name: "invalid UTF-8", body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) },
    { name: "JSON behind a byte order mark", body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes("{}")]) },
    { name: "UTF-16 encoded JSON", body: Buffer.from(JSON.stringify(validEvent()), "utf16le") },
  ])("reports not_json for $name", ({ body }) => {
    expect(parseStripeEvent(body)).toEqual({ ok: false, reason: "not_json" });
  });

  const without = (key: string) => {
    const event = validEvent();
    delete event[key];
    return event;
  };
  const withField = (key: string, value: unknown) => ({ ...validEvent(), [key]: value });

  it.each([
    { name: "missing id", event: without("id"), path: "id" },
    { name: "id of another object", event: withField("id", "cus_QXg1o8vcGmoR32"), path: "id" },
    { name: "bare evt_ prefix", event: withField("id", "evt_"), path: "id" },
    { name: "missing type", event: without("type"), path: "type" },
    { name: "empty type", event: withField("type", ""), path: "type" },
    { name: "object is not event", event: withField("object", "list"), path: "object" },
    { name: "missing created", event: without("created"), path: "created" },
    { name: "created as a string", event: withField("created", "1721954059"), path: "created" },
    { name: "fractional created", event: withField("created", 1_721_954_059.5), path: "created" },
    { name: "created in milliseconds", event: withField("created", 1_721_954_059_000), path: "created" },
    { name: "missing livemode", event: without("livemode"), path: "livemode" },
    { name: "livemode as a string", event: withField("livemode", "false"), path: "livemode" },
    { name: "api_version as a number", event: withField("api_version", 2024), path: "api_version" },
    { name: "empty account", event: withField("account", ""), path: "account" },
    { name: "missing data", event: without("data"), path: "data" },
    { name: "missing data.object", event: withField("data", {}), path: "data.object" },
    { name: "data.object is an array", event: withField("data", { object: [] }), path: "data.object" },
    { name: "numeric object id", event: withField("data", { object: { id: 42 } }), path: "data.object.id" },
    { name: "top-level array", event: [validEvent()], path: "(root)" },
    { name: "top-level null", event: null, path: "(root)" },
    { name: "top-level string", event: "evt_1", path: "(root)" },
  ])("reports invalid_envelope for $name, naming $path", ({ event, path }) => {
    const result: EnvelopeParseResult = parseStripeEvent(bytes(JSON.stringify(event)));
    expect(result).toMatchObject({ ok: false, reason: "invalid_envelope" });
    if (!result.ok && result.reason === "invalid_envelope") {
      expect(result.message.split("; ").some((part) => part.startsWith(`${path}: `))).toBe(true);
    }
  });

  it("never echoes payload values in the message", () => {
    const event = {
      ...validEvent(),
      id: "jenny.rosen@example.com",
      type: 12345,
      created: "4242424242424242",
      data: { object: { id: { email: "x@example.com" } } },
    };
    const result = parseStripeEvent(bytes(JSON.stringify(event)));
    expect(result.ok).toBe(false);
    const text = JSON.stringify(result);
    for (const leaked of ["example.com", "12345", "4242"]) expect(text).not.toContain(leaked);
  });

  it("does not pollute prototypes with a __proto__ key", () => {
    const raw = JSON.stringify(validEvent()).replace(/^\{/, '{"__proto__":{"polluted":true},');
    const result = parseStripeEvent(bytes(raw));
    expect(result.ok).toBe(true);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe.skipIf(!hasStripeFixtures)(`parseStripeEvent over Stripe's example objects (${STRIPE_FIXTURES_PATH})`, () => {
  it("parses Stripe's own example event", () => {
    const event = stripeFixture("event");
    expect(parseStripeEvent(bytes(JSON.stringify(event, null, 2)))).toMatchObject({
      ok: true,
      kind: "keyed",
      event: { api_version: null, type: "plan.created" },
    });
  });

  it.each([
    ["customer", "customer.created"],
    ["deleted_customer", "customer.deleted"],
    ["charge", "charge.succeeded"],
    ["subscription", "customer.subscription.updated"],
    ["invoice", "invoice.paid"],
    ["dispute", "charge.dispute.created"],
    ["refund", "refund.created"],
    ["checkout.session", "checkout.session.expired"],
    ["product", "product.updated"],
    ["price", "price.created"],
  ])("accepts a %s object in a %s event", (resource, type) => {
    const object = stripeFixture(resource);
    const result = parseStripeEvent(bytes(stripeEventBody({ type, object })));
    expect(result).toMatchObject({ ok: true, kind: "keyed", objectId: object["id"] });
  });

  it("treats an object without id (cash_balance) as unkeyed", () => {
    const raw = stripeEventBody({ type: "cash_balance.funds_available", object: stripeFixture("cash_balance") });
    expect(parseStripeEvent(bytes(raw))).toMatchObject({ ok: true, kind: "unkeyed" });
  });
});
