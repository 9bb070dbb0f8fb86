/**
 * Issue #13 item 1, end to end: fake Stripe (rendering 2025-03-31.basil, where a subscription
 * lists its discounts by id only) → ingest's backfill / catch-up → the projector's fold → MRR.
 * Forever coupons must reduce MRR whether the discount arrives expanded by the backfill, by id
 * in a later webhook, or through a `customer.discount.created` event read by catch-up.
 */
import { join } from "node:path";
import { runBackfill, runCatchUp } from "@sbs/ingest/commands";
import { createHarness, type Harness } from "@sbs/ingest/testing/command-harness";
import { type FakeStripe, type StripeObject, startFakeStripe } from "@sbs/ingest/testing/fake-stripe";
import { createRecordingEventLog, type RecordingEventLog } from "@sbs/ingest/testing/recording-event-log";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type DecodedEvent, decodeEvent, foldAll, readModels } from "../domain/index.ts";

const NOW = Math.floor(Date.now() / 1000);
const T0 = NOW - 5 * 86_400;

const coupon = (id: string, duration: string, percentOff: number): StripeObject => ({
  id,
  object: "coupon",
  amount_off: null,
  created: T0 - 100,
  currency: null,
  duration,
  duration_in_months: duration === "repeating" ? 3 : null,
  livemode: false,
  max_redemptions: null,
  metadata: {},
  name: `${percentOff}% ${duration}`,
  percent_off: percentOff,
  redeem_by: null,
  times_redeemed: 1,
  valid: true,
});

/** A basil discount: the coupon is embedded (it moves to `source.coupon` only in clover). */
const discount = (id: string, customer: string, subscription: string, c: StripeObject): StripeObject => ({
  id,
  object: "discount",
  checkout_session: null,
  coupon: c,
  customer,
  end: null,
  invoice: null,
  invoice_item: null,
  promotion_code: null,
  start: T0,
  subscription,
  subscription_item: null,
});

const customer = (id: string): StripeObject => ({
  id,
  object: "customer",
  created: T0 - 1000,
  currency: "usd",
  discount: null,
  email: `${id}@example.com`,
  livemode: false,
  metadata: {},
  name: id,
  phone: null,
});

/** A basil subscription: period on the items, `discounts` as ids, no `discount`. */
const subscription = (id: string, cus: string, discounts: string[], quantity = 1): StripeObject => ({
  id,
  object: "subscription",
  billing_cycle_anchor: T0,
  cancel_at_period_end: false,
  canceled_at: null,
  created: T0,
  currency: "usd",
  customer: cus,
  discounts,
  ended_at: null,
  items: {
    object: "list",
    data: [
      {
        id: `si_${id}`,
        object: "subscription_item",
        created: T0,
        current_period_end: T0 + 30 * 86_400,
        current_period_start: T0,
        discounts: [],
        price: {
          id: "price_monthly",
          object: "price",
          active: true,
          billing_scheme: "per_unit",
          created: T0 - 5000,
          currency: "usd",
          livemode: false,
          nickname: "Monthly",
          product: "prod_1",
          recurring: { interval: "month", interval_count: 1, usage_type: "licensed", meter: null },
          tiers_mode: null,
          transform_quantity: null,
          type: "recurring",
          unit_amount: 2000,
          unit_amount_decimal: "2000",
        },
        quantity,
        subscription: id,
      },
    ],
    has_more: false,
  },
  livemode: false,
  start_date: T0,
  status: "active",
  trial_end: null,
});

const decodeAll = (log: RecordingEventLog): DecodedEvent[] =>
  log.records.map((r) => {
    const result = decodeEvent(JSON.parse(r.envelope.payload));
    if (!result.ok) throw new Error(`backfill produced an event the projector refuses: ${result.reason}`);
    return result.event;
  });

const mrrOf = (events: DecodedEvent[], customerId: string) =>
  readModels(foldAll(events)).find((m) => m.customerId === customerId)?.mrr;

describe("discounts reach the fold under the pinned API version", () => {
  let fake: FakeStripe;
  let harness: Harness;

  beforeEach(async () => {
    fake = await startFakeStripe();
    harness = await createHarness({ fake, eventLog: createRecordingEventLog() });
  });
  afterEach(async () => {
    await fake.close();
    await harness.cleanup();
  });

  const backfill = async (
    log: RecordingEventLog,
    resources: ("customers" | "subscriptions" | "prices")[] = ["customers", "subscriptions"],
  ) => {
    const result = await runBackfill(
      {
        since: T0 - 10_000,
        resources,
        statePath: join(harness.stateDir, "backfill.json"),
        restart: true,
        pageSize: 100,
        concurrency: 4,
        checkpointEvery: 100,
      },
      { ...harness.deps, eventLog: log },
    );
    expect(result.ok).toBe(true);
  };

  it.each([
    { duration: "forever", percentOff: 25, mrr: { usd: 1500 } },
    { duration: "forever", percentOff: 100, mrr: { usd: 0 } },
    // Stripe's MRR counts forever coupons only.
    { duration: "once", percentOff: 25, mrr: { usd: 2000 } },
    { duration: "repeating", percentOff: 50, mrr: { usd: 2000 } },
  ])("backfill → fold: a $duration $percentOff% coupon gives MRR $mrr.usd", async ({ duration, percentOff, mrr }) => {
    fake.add("customers", customer("cus_A"));
    fake.addDiscount(discount("di_A", "cus_A", "sub_A", coupon("co_A", duration, percentOff)));
    fake.add("subscriptions", subscription("sub_A", "cus_A", ["di_A"]));
    const log = createRecordingEventLog();
    await backfill(log);
    expect(mrrOf(decodeAll(log), "cus_A")).toEqual(mrr);
  });

  it("a later webhook naming the discount by id only keeps it applied", async () => {
    fake.add("customers", customer("cus_A"));
    fake.addDiscount(discount("di_A", "cus_A", "sub_A", coupon("co_A", "forever", 25)));
    fake.add("subscriptions", subscription("sub_A", "cus_A", ["di_A"]));
    const log = createRecordingEventLog();
    await backfill(log);
    // What Stripe sends a day later when the quantity changes: discounts as bare ids.
    const webhook = decodeEvent({
      id: "evt_qty2",
      object: "event",
      api_version: "2025-03-31.basil",
      created: T0 + 86_400,
      data: { object: subscription("sub_A", "cus_A", ["di_A"], 2) },
      livemode: false,
      type: "customer.subscription.updated",
    });
    if (!webhook.ok) throw new Error(webhook.reason);
    const events = [...decodeAll(log), webhook.event];
    expect(mrrOf(events, "cus_A")).toEqual({ usd: 3000 });
    expect(mrrOf([...events].reverse(), "cus_A")).toEqual({ usd: 3000 });
  });

  it("catch-up brings customer.discount.created, which prices a discount listed by id", async () => {
    fake.add("customers", customer("cus_B"));
    fake.add("subscriptions", subscription("sub_B", "cus_B", []));
    const log = createRecordingEventLog();
    await backfill(log);
    const d = discount("di_B", "cus_B", "sub_B", coupon("co_B", "forever", 10));
    const later = T0 + 3600;
    fake.addEvent({
      id: "evt_disc",
      object: "event",
      api_version: "2025-03-31.basil",
      created: later,
      data: { object: d },
      livemode: false,
      pending_webhooks: 0,
      request: { id: "req_1", idempotency_key: null },
      type: "customer.discount.created",
    });
    fake.addEvent({
      id: "evt_sub",
      object: "event",
      api_version: "2025-03-31.basil",
      created: later,
      data: { object: subscription("sub_B", "cus_B", ["di_B"]) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: "req_1", idempotency_key: null },
      type: "customer.subscription.updated",
    });
    const caught = createRecordingEventLog();
    const result = await runCatchUp(
      {
        statePath: join(harness.stateDir, "catch-up.json"),
        allTypes: false,
        overlapSeconds: 0,
        concurrency: 1,
        pageSize: 100,
      },
      { ...harness.deps, eventLog: caught },
    );
    expect(result.ok).toBe(true);
    expect(caught.records.map((r) => r.envelope.event_id).sort()).toEqual(["evt_disc", "evt_sub"]);
    expect(mrrOf([...decodeAll(log), ...decodeAll(caught)], "cus_B")).toEqual({ usd: 1800 });
  });

  it("a tiered price is priced from the backfill's price listing (tiers only come when expanded)", async () => {
    const tiered = {
      ...((subscription("x", "y", []) as { items: { data: { price: StripeObject }[] } }).items.data[0]?.price ?? {}),
      id: "price_tiered",
      billing_scheme: "tiered",
      tiers_mode: "graduated",
      unit_amount: null,
      unit_amount_decimal: null,
      tiers: [
        { flat_amount: 1000, flat_amount_decimal: "1000", unit_amount: 0, unit_amount_decimal: "0", up_to: 5 },
        { flat_amount: null, flat_amount_decimal: null, unit_amount: 150, unit_amount_decimal: "150", up_to: null },
      ],
    };
    const sub = subscription("sub_T", "cus_T", [], 8) as { items: { data: Record<string, unknown>[] } };
    const item = sub.items.data[0];
    if (item) item["price"] = tiered;
    fake.add("customers", customer("cus_T"));
    fake.add("prices", tiered);
    fake.add("subscriptions", sub);
    const log = createRecordingEventLog();
    await backfill(log, ["customers", "subscriptions", "prices"]);
    // 5 units in the flat 10.00 tier, 3 at 1.50.
    expect(mrrOf(decodeAll(log), "cus_T")).toEqual({ usd: 1450 });
  });
});
