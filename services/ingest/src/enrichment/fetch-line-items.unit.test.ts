import { AppError } from "@sbs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createStripeConnection } from "../commands/stripe-connection.ts";
import { parseStripeEvent } from "../domain/envelope.ts";
import { lineItemsEvent, lineItemsEventId, needsLineItems } from "../domain/line-items.ts";
import { routingKeyOf } from "../domain/routing.ts";
import { FAKE_SECRET_KEY, type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { fetchLineItems } from "./fetch-line-items.ts";

/**
 * The enrichment step's Stripe call against the fake Stripe (Stripe's list contract: `item`
 * objects, `has_more`, `starting_after`, 404 resource_missing, 429), through the project's client.
 */
const clock = { now: () => Date.now(), sleep: async () => {} };
let stripe: FakeStripe;
const client = (key = FAKE_SECRET_KEY) =>
  createStripeConnection({
    apiKey: key,
    clock,
    host: stripe.host,
    port: stripe.port,
    protocol: "http",
    baseBackoffMs: 1,
    maxRateLimitRetries: 2,
    maxNetworkRetries: 0,
  });
const item = (i: number) => ({
  id: `li_${String(i).padStart(3, "0")}`,
  object: "item",
  amount_subtotal: 100,
  amount_total: 100,
  currency: "usd",
  description: `Item ${i}`,
  price: { id: "price_1", object: "price", product: "prod_1" },
  quantity: 1,
});
const session = { id: "cs_test_1", object: "checkout.session", customer: null };

beforeEach(async () => {
  stripe = await startFakeStripe({ keys: { [FAKE_SECRET_KEY]: {}, sk_test_noCheckout: { deny: ["checkout"] } } });
});
afterEach(async () => {
  await stripe.close();
});

describe("fetchLineItems", () => {
  it("reads one page of 100 in Stripe's order; more are flagged as truncated", async () => {
    stripe.addCheckoutSession(
      session,
      Array.from({ length: 130 }, (_, i) => item(i)),
    );
    const r = await fetchLineItems(client().client, "cs_test_1");
    expect(r.ok && r.items.length).toBe(100);
    expect(r.ok && r.truncated).toBe(true);
    expect(r.ok && r.items[0]?.id).toBe("li_000");
    const pages = stripe.requests.filter((q) => q.path === "/v1/checkout/sessions/cs_test_1/line_items");
    expect(pages).toHaveLength(1);
    expect(pages.every((q) => q.params["limit"] === "100")).toBe(true);
  });

  it("reads a short list whole", async () => {
    stripe.addCheckoutSession(session, [item(1), item(2)]);
    const r = await fetchLineItems(client().client, "cs_test_1");
    expect(r).toMatchObject({ ok: true, truncated: false, items: [{ id: "li_001" }, { id: "li_002" }] });
  });

  it("answers a session Stripe does not know (404) as no items, with the reason", async () => {
    expect(await fetchLineItems(client().client, "cs_test_gone")).toEqual({ ok: false, error: "404 resource_missing" });
  });

  it("retries 429 through the client, then gives up as retriable", async () => {
    stripe.addCheckoutSession(session, [item(1)]);
    stripe.failNext(2, { status: 429 });
    const ok = await fetchLineItems(client().client, "cs_test_1");
    expect(ok.ok && ok.items.map((i) => i.id)).toEqual(["li_001"]);
    stripe.failNext(3, { status: 429 });
    const error = await fetchLineItems(client().client, "cs_test_1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).retriable).toBe(true);
  });

  it("stops on a key that may not read sessions (fatal, not retried)", async () => {
    stripe.addCheckoutSession(session, [item(1)]);
    const error = await fetchLineItems(client("sk_test_noCheckout").client, "cs_test_1").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "stripe_key_refused", retriable: false });
  });

  it("refuses a page that is not Stripe's list contract (retriable)", async () => {
    stripe.addCheckoutSession(session, [item(1)]);
    stripe.failNext(1, { rawBody: JSON.stringify({ object: "list", data: [{ id: "x" }], has_more: false }) });
    const error = await fetchLineItems(client().client, "cs_test_1").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "stripe_bad_response", retriable: true });
  });
});

describe("the line-items event", () => {
  const source = {
    id: "evt_1Abc",
    type: "checkout.session.expired",
    created: 1_750_000_000,
    livemode: false,
    api_version: "2025-03-31.basil",
    source: "webhook",
    data: { object: { id: "cs_test_1", object: "checkout.session", customer: "cus_1", amount_total: 100 } },
  };

  it("is keyed like its webhook, with a deterministic id, and parses as a Stripe event", () => {
    const event = lineItemsEvent(source, { ok: true, items: [], truncated: false });
    const parsed = parseStripeEvent(Buffer.from(JSON.stringify(event)));
    expect(parsed).toMatchObject({ ok: true, kind: "keyed", event: { id: "evt_li_1Abc" } });
    expect(lineItemsEventId(source.id)).toBe(event.id);
    if (!parsed.ok) throw new Error("unreachable");
    expect(routingKeyOf(parsed.event)).toBe("platform:cus_1");
    expect(event.data.object).toMatchObject({
      amount_total: 100,
      sbs_line_items: { data: [], truncated: false },
      sbs_line_items_error: null,
      sbs_enriched_from: { event_id: "evt_1Abc", event_type: "checkout.session.expired", source: "webhook" },
    });
    const without = lineItemsEvent(source, { ok: false, error: "404 resource_missing" });
    expect(without.data.object).toMatchObject({ sbs_line_items: null, sbs_line_items_error: "404 resource_missing" });
  });

  it.each([
    ["checkout.session.expired", "webhook", true],
    ["checkout.session.completed", "webhook", true],
    ["checkout.session.expired", "backfill", false],
    ["checkout.session.line_items", "enrichment", false],
    ["invoice.paid", "webhook", false],
  ])("%s from %s needs line items: %s", (type, src, want) => {
    expect(needsLineItems({ type, source: src })).toBe(want);
  });
});
