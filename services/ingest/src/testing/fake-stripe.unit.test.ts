import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_SECRET_KEY, type FakeStripe, parseStripeParams, startFakeStripe } from "./fake-stripe.ts";

const RESTRICTED_KEY = "rk_test_restrictedKey0001";
const NOW = 1_750_000_000;

function sdk(fake: FakeStripe, key = FAKE_SECRET_KEY): Stripe {
  return new Stripe(key, { host: fake.host, port: fake.port, protocol: "http", maxNetworkRetries: 0 });
}

const customer = (n: number, created: number) => ({
  id: `cus_${String(n).padStart(3, "0")}`,
  object: "customer",
  created,
  livemode: false,
});

describe("parseStripeParams", () => {
  it("expands brackets into objects and arrays as stripe-node encodes them", () => {
    const form = new URLSearchParams("limit=3&created[gte]=10&types[0]=a.b&types[1]=c.d&metadata[k]=v&expand[]=x");
    expect(parseStripeParams(form)).toEqual({
      limit: "3",
      created: { gte: "10" },
      types: ["a.b", "c.d"],
      metadata: { k: "v" },
      expand: ["x"],
    });
  });
});

describe("fake Stripe server with the real SDK", () => {
  let fake: FakeStripe;
  beforeAll(async () => {
    fake = await startFakeStripe({
      nowSeconds: () => NOW,
      keys: { [FAKE_SECRET_KEY]: {}, [RESTRICTED_KEY]: { deny: ["events"] } },
    });
    // 25 customers, created in shuffled order, two of them in the same second.
    for (const n of [4, 17, 0, 9, 22, 13, 1, 8, 19, 3, 24, 11, 6, 15, 2, 20, 7, 12, 5, 18, 10, 23, 14, 21, 16]) {
      fake.add("customers", customer(n, 1_700_000_000 + Math.min(n, 23) * 10));
    }
    fake.add(
      "subscriptions",
      { id: "sub_a", object: "subscription", created: 1, status: "active", livemode: false },
      { id: "sub_c", object: "subscription", created: 2, status: "canceled", livemode: false },
    );
    const event = (id: string, type: string, created: number) => ({
      id,
      object: "event",
      type,
      created,
      livemode: false,
      data: { object: { id: "cus_000", object: "customer" } },
    });
    fake.addEvent(event("evt_old", "customer.created", NOW - 31 * 86_400));
    fake.addEvent(event("evt_1", "customer.created", NOW - 100), { deliverySuccess: false });
    fake.addEvent(event("evt_2", "customer.updated", NOW - 50));
    fake.addEvent(event("evt_3", "charge.succeeded", NOW - 10), { deliverySuccess: false });
  });
  afterAll(() => fake.close());

  it("lists newest first with limit, has_more and starting_after; auto-pagination sees everything once", async () => {
    const stripe = sdk(fake);
    const first = await stripe.customers.list({ limit: 10 });
    expect(first.data).toHaveLength(10);
    expect(first.has_more).toBe(true);
    expect(first.data.map((c) => c.id).slice(0, 3)).toEqual(["cus_024", "cus_023", "cus_022"]);
    const second = await stripe.customers.list({ limit: 10, starting_after: first.data[9]?.id ?? "" });
    expect(second.data[0]?.id).toBe("cus_014");
    const ids: string[] = [];
    for await (const c of stripe.customers.list({ limit: 7 })) ids.push(c.id);
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    const created = (await stripe.customers.list({ limit: 100 })).data.map((c) => c.created);
    expect(created).toEqual([...created].sort((a, b) => b - a));
  });

  it("defaults limit to 10 and refuses more than 100", async () => {
    const stripe = sdk(fake);
    expect((await stripe.customers.list()).data).toHaveLength(10);
    await expect(stripe.customers.list({ limit: 101 })).rejects.toMatchObject({
      statusCode: 400,
      code: "parameter_invalid_integer",
      param: "limit",
    });
  });

  it("pages backwards with ending_before, returning the objects just newer than the anchor", async () => {
    const page = await sdk(fake).customers.list({ limit: 3, ending_before: "cus_010" });
    expect(page.data.map((c) => c.id)).toEqual(["cus_013", "cus_012", "cus_011"]);
    expect(page.has_more).toBe(true);
  });

  it("filters by created[gt|gte|lt|lte]", async () => {
    const page = await sdk(fake).customers.list({ limit: 100, created: { gte: 1_700_000_050, lt: 1_700_000_100 } });
    expect(page.data.map((c) => c.id)).toEqual(["cus_009", "cus_008", "cus_007", "cus_006", "cus_005"]);
  });

  it("answers an unknown starting_after with a 400 resource_missing", async () => {
    await expect(sdk(fake).customers.list({ starting_after: "cus_gone" })).rejects.toMatchObject({
      statusCode: 400,
      code: "resource_missing",
      param: "starting_after",
    });
  });

  it("hides canceled subscriptions unless status=all", async () => {
    const stripe = sdk(fake);
    expect((await stripe.subscriptions.list()).data.map((s) => s.id)).toEqual(["sub_a"]);
    expect((await stripe.subscriptions.list({ status: "all" })).data.map((s) => s.id)).toEqual(["sub_c", "sub_a"]);
  });

  it("keeps 30 days of events and filters by types[] and delivery_success", async () => {
    const stripe = sdk(fake);
    expect((await stripe.events.list()).data.map((e) => e.id)).toEqual(["evt_3", "evt_2", "evt_1"]);
    expect(
      (await stripe.events.list({ types: ["customer.created", "charge.succeeded"] })).data.map((e) => e.id),
    ).toEqual(["evt_3", "evt_1"]);
    expect((await stripe.events.list({ delivery_success: false })).data.map((e) => e.id)).toEqual(["evt_3", "evt_1"]);
    expect((await stripe.events.list({ created: { gt: NOW - 50 } })).data.map((e) => e.id)).toEqual(["evt_3"]);
  });

  it("refuses an unknown key with 401 and a restricted key with 403, in Stripe's error shape", async () => {
    await expect(sdk(fake, "sk_test_unknownKey9999").customers.list()).rejects.toMatchObject({
      type: "StripeAuthenticationError",
      statusCode: 401,
      message: expect.stringMatching(/^Invalid API Key provided: sk_test_\*+9999$/),
    });
    await expect(sdk(fake, RESTRICTED_KEY).events.list()).rejects.toMatchObject({
      type: "StripePermissionError",
      statusCode: 403,
    });
    await expect(sdk(fake, RESTRICTED_KEY).customers.list({ limit: 1 })).resolves.toMatchObject({ object: "list" });
  });

  it("creates webhook endpoints from form-encoded bodies, returning the secret once per idempotency key", async () => {
    const stripe = sdk(fake);
    const params = { url: "https://example.com/hook", enabled_events: ["charge.succeeded" as const] };
    const created = await stripe.webhookEndpoints.create(params, { idempotencyKey: "k1" });
    expect(created.secret).toMatch(/^whsec_/);
    const again = await stripe.webhookEndpoints.create(params, { idempotencyKey: "k1" });
    expect(again.id).toBe(created.id);
    expect(fake.webhookEndpoints).toHaveLength(1);
    const listed = await stripe.webhookEndpoints.list();
    expect(listed.data[0]).not.toHaveProperty("secret");
  });

  it("injects 429 bursts and counts every request", async () => {
    const stripe = sdk(fake);
    const before = fake.requests.length;
    fake.failNext(1);
    await expect(stripe.products.list()).rejects.toMatchObject({ type: "StripeRateLimitError", statusCode: 429 });
    await expect(stripe.products.list()).resolves.toMatchObject({ data: [] });
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
  });
});

describe("fake Stripe token bucket", () => {
  it("answers 429 beyond the configured rate", async () => {
    const fake = await startFakeStripe({ rateLimit: { requestsPerSecond: 2, burst: 2 } });
    try {
      const stripe = sdk(fake);
      const results = await Promise.allSettled([1, 2, 3, 4].map(() => stripe.products.list()));
      expect(results.filter((r) => r.status === "rejected")).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});

interface SubJson {
  discounts: unknown[];
  items: { data: { discounts: unknown[]; price: { tiers?: unknown } }[] };
}

describe("fake Stripe expansion (2025-03-31.basil rendering)", () => {
  let fake: FakeStripe;
  beforeAll(async () => {
    fake = await startFakeStripe({ nowSeconds: () => NOW });
    const discount = { id: "di_1", object: "discount", coupon: { id: "co_1", object: "coupon" }, start: NOW };
    fake.addDiscount(discount);
    const tiers = [{ up_to: null, unit_amount: 100, flat_amount: null }];
    const price = { id: "price_t", object: "price", created: NOW, billing_scheme: "tiered", tiers };
    fake.add("prices", price);
    fake.add("subscriptions", {
      id: "sub_1",
      object: "subscription",
      created: NOW,
      status: "active",
      discounts: ["di_1"],
      items: { object: "list", data: [{ id: "si_1", discounts: [discount], price }] },
    });
  });
  afterAll(() => fake.close());

  it("lists discounts as ids and leaves tiers out unless expanded", async () => {
    const [sub] = (await sdk(fake).subscriptions.list({ status: "all" })).data as unknown as SubJson[];
    expect(sub?.discounts).toEqual(["di_1"]);
    expect(sub?.items.data[0]?.discounts).toEqual(["di_1"]);
    expect(sub?.items.data[0]?.price.tiers).toBeUndefined();
    const [price] = (await sdk(fake).prices.list()).data;
    expect(price?.tiers).toBeUndefined();
  });

  it("expands them on request", async () => {
    const [sub] = (
      await sdk(fake).subscriptions.list({ status: "all", expand: ["data.discounts", "data.items.data.discounts"] })
    ).data as unknown as SubJson[];
    expect(sub?.discounts[0]).toMatchObject({ id: "di_1", coupon: { id: "co_1" } });
    expect(sub?.items.data[0]?.discounts[0]).toMatchObject({ id: "di_1" });
    const [price] = (await sdk(fake).prices.list({ expand: ["data.tiers"] })).data;
    expect(price?.tiers).toHaveLength(1);
  });

  it("refuses an expansion it does not know, as Stripe does", async () => {
    await expect(sdk(fake).prices.list({ expand: ["data.nope"] })).rejects.toThrow(
      "This property cannot be expanded (nope).",
    );
  });
});
