import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../testing/command-harness.ts";
import { type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog } from "../testing/recording-event-log.ts";
import { PINNED_API_VERSION, PROJECTOR_EVENT_TYPES } from "./event-types.ts";
import { setupWebhookCommand } from "./setup-webhook.ts";

describe("setup-webhook against the fake Stripe server", () => {
  let fake: FakeStripe;
  let h: Harness;
  beforeEach(async () => {
    fake = await startFakeStripe();
    h = await createHarness({ fake, eventLog: createRecordingEventLog() });
  });
  afterEach(async () => {
    await fake.close();
    await h.cleanup();
  });

  it("creates the endpoint with the projector's events and the pinned version, and prints only the secret on stdout", async () => {
    const url = "https://ingest.example.com/webhooks/stripe";
    expect(await setupWebhookCommand.run(["--url", url], h.deps)).toBe(0);

    const create = fake.requests.find((r) => r.method === "POST");
    expect(create?.params).toMatchObject({ url, api_version: PINNED_API_VERSION });
    expect(create?.params["enabled_events"]).toEqual([...PROJECTOR_EVENT_TYPES]);
    // Since basil the coupon of a subscription discount reaches the fold only through these.
    expect(create?.params["enabled_events"]).toEqual(
      expect.arrayContaining(["customer.discount.created", "customer.discount.updated", "customer.discount.deleted"]),
    );
    // Issue #20: the lifecycle events the sink sends, Checkout for guests and their line items.
    expect(create?.params["enabled_events"]).toEqual(
      expect.arrayContaining([
        "checkout.session.completed",
        "checkout.session.expired",
        "invoice.upcoming",
        "invoice.finalized",
        "invoice.sent",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "customer.source.expiring",
      ]),
    );
    expect(create?.idempotencyKey).toMatch(/^sbs-setup-webhook-/);

    const secret = fake.webhookEndpoints[0]?.["secret"];
    expect(secret).toMatch(/^whsec_/);
    expect(h.out.text()).toBe(`${secret}\n`);
    expect(h.err.text()).toContain("STRIPE_WEBHOOK_SECRETS");
    expect(h.err.text()).not.toContain(String(secret));
  });

  it("takes --api-version", async () => {
    expect(
      await setupWebhookCommand.run(["--url", "https://x.example/hook", "--api-version", "2024-06-20"], h.deps),
    ).toBe(0);
    expect(fake.webhookEndpoints[0]?.["api_version"]).toBe("2024-06-20");
  });

  it("refuses to create a second endpoint for the same URL unless told to", async () => {
    const url = "https://ingest.example.com/webhooks/stripe";
    expect(await setupWebhookCommand.run(["--url", url], h.deps)).toBe(0);
    const again = h.with({});
    expect(await setupWebhookCommand.run(["--url", url], again.deps)).toBe(1);
    expect(again.err.text()).toMatch(/an endpoint for .* already exists \(we_\w+\)/);
    expect(again.out.text()).toBe("");
    expect(fake.webhookEndpoints).toHaveLength(1);
    expect(await setupWebhookCommand.run(["--url", url, "--allow-duplicate"], h.with({}).deps)).toBe(0);
    expect(fake.webhookEndpoints).toHaveLength(2);
  });

  it("retries a 429 on the create with the same idempotency key: one endpoint", async () => {
    fake.failNext(2, { method: "POST" });
    expect(await setupWebhookCommand.run(["--url", "https://x.example/hook"], h.deps)).toBe(0);
    const posts = fake.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(new Set(posts.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(fake.webhookEndpoints).toHaveLength(1);
  });

  it.each([
    [[], /--url is required/],
    [["--url", "not a url"], /--url: expected an absolute http\(s\) URL/],
    [["--url", "ftp://x.example/hook"], /--url: expected an http\(s\) URL/],
    [["--url", "https://x.example/hook", "--api-version", "basil"], /--api-version: expected YYYY-MM-DD/],
  ])("exits 2 for %j", async (argv, message) => {
    expect(await setupWebhookCommand.run(argv, h.deps)).toBe(2);
    expect(h.err.text()).toMatch(message);
    expect(fake.requests).toHaveLength(0);
  });
});
