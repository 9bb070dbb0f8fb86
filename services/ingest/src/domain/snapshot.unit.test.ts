import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasStripeFixtures, objects, stripeFixture } from "../testing/stripe-signing.ts";
import { parseStripeEvent } from "./envelope.ts";
import { routingKeyOf } from "./routing.ts";
import {
  canonicalJson,
  SNAPSHOT_ID_PREFIX,
  SNAPSHOT_RESOURCES,
  type SnapshotResult,
  snapshotCreated,
  toSnapshotEvent,
} from "./snapshot.ts";

const API_VERSION = "2025-03-31.basil";
const options = { apiVersion: API_VERSION };

function ok(result: SnapshotResult) {
  if (!result.ok) throw new Error(result.message);
  return result;
}

const subscription = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
  object: "subscription",
  cancel_at_period_end: false,
  canceled_at: null,
  created: 1_721_954_000,
  customer: "cus_QXg1o8vcGmoR32",
  ended_at: null,
  items: {
    object: "list",
    data: [
      {
        id: "si_1",
        object: "subscription_item",
        current_period_start: 1_724_632_400,
        current_period_end: 1_727_310_800,
      },
    ],
  },
  livemode: false,
  start_date: 1_721_954_000,
  status: "active",
  trial_end: null,
  ...overrides,
});

describe("toSnapshotEvent", () => {
  it("wraps the object in a backfill-marked event that ingest's own envelope schema accepts", () => {
    const customer = objects.customer();
    const { event, payload } = ok(toSnapshotEvent(customer, options));
    expect(event).toMatchObject({
      object: "event",
      type: "customer.snapshot",
      created: 1_721_948_530,
      livemode: false,
      api_version: API_VERSION,
      request: null,
      pending_webhooks: 0,
      sbs_source: "backfill",
      data: { object: customer },
    });
    expect(event.id).toMatch(/^evt_snapshot_[0-9a-f]{32}$/);
    expect(event).not.toHaveProperty("account");
    expect(parseStripeEvent(Buffer.from(payload))).toMatchObject({
      ok: true,
      kind: "keyed",
      objectId: customer["id"],
      event: { id: event.id },
    });
  });

  it("keeps the object's keys in the order the API returned them", () => {
    const object = { object: "price", livemode: false, created: 1, id: "price_1", zz: 1, aa: 2 };
    const { payload } = ok(toSnapshotEvent(object, options));
    expect(JSON.stringify(JSON.parse(payload).data.object)).toBe(JSON.stringify(object));
  });

  it("lands on the same Kafka key as the real events of the same customer", () => {
    const { event } = ok(toSnapshotEvent(subscription(), options));
    expect(routingKeyOf(event)).toBe("platform:cus_QXg1o8vcGmoR32");
  });

  it("carries the Connect account and keys with it", () => {
    const { event } = ok(toSnapshotEvent(objects.charge("cus_QXg1o8vcGmoR32"), { ...options, account: "acct_1X" }));
    expect(event.account).toBe("acct_1X");
    expect(routingKeyOf(event)).toBe("acct_1X:cus_QXg1o8vcGmoR32");
  });

  it.each([
    {
      name: "a refund (not a backfilled resource)",
      object: { id: "re_1", object: "refund", livemode: false, created: 1 },
    },
    { name: "a missing id", object: { object: "customer", livemode: false, created: 1 } },
    { name: "a missing livemode", object: { id: "cus_1", object: "customer", created: 1 } },
    { name: "a missing created", object: { id: "cus_1", object: "customer", livemode: false } },
    { name: "a list instead of an object", object: { object: "list", data: [], has_more: false } },
    { name: "null", object: null },
  ])("refuses $name", ({ object }) => {
    expect(toSnapshotEvent(object, options)).toMatchObject({ ok: false, reason: "not_a_snapshot_object" });
  });
});

describe("deterministic snapshot ids", () => {
  it("gives the same id and byte-identical payload for the same object state", () => {
    const a = ok(toSnapshotEvent(subscription(), options));
    const b = ok(toSnapshotEvent(subscription(), options));
    expect(b.event.id).toBe(a.event.id);
    expect(b.payload).toBe(a.payload);
  });

  it("does not depend on the key order of the API response", () => {
    const original = subscription();
    const reversed = Object.fromEntries(Object.entries(original).reverse());
    expect(ok(toSnapshotEvent(reversed, options)).event.id).toBe(ok(toSnapshotEvent(original, options)).event.id);
  });

  it.each([
    { name: "another status", change: (s: Record<string, unknown>) => ({ ...s, status: "past_due" }) },
    {
      name: "cancel_at_period_end set",
      change: (s: Record<string, unknown>) => ({ ...s, cancel_at_period_end: true }),
    },
    {
      name: "a change deep in an item",
      change: (s: Record<string, unknown>) => ({
        ...s,
        items: { object: "list", data: [{ id: "si_1", quantity: 2 }] },
      }),
    },
    { name: "new metadata", change: (s: Record<string, unknown>) => ({ ...s, metadata: { tier: "vip" } }) },
    { name: "another object id", change: (s: Record<string, unknown>) => ({ ...s, id: "sub_other" }) },
  ])("gives a different id for $name", ({ change }) => {
    const before = ok(toSnapshotEvent(subscription(), options)).event.id;
    expect(ok(toSnapshotEvent(change(subscription()), options)).event.id).not.toBe(before);
  });

  it("gives a different id for another account or API version (the payload differs too)", () => {
    const base = ok(toSnapshotEvent(subscription(), options)).event.id;
    expect(ok(toSnapshotEvent(subscription(), { ...options, account: "acct_1X" })).event.id).not.toBe(base);
    expect(ok(toSnapshotEvent(subscription(), { apiVersion: "2024-06-20" })).event.id).not.toBe(base);
  });

  it("property: same state -> same id whatever the key order; different metadata -> different id", () => {
    const metadata = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 }), {
      maxKeys: 6,
    });
    fc.assert(
      fc.property(metadata, metadata, (m1, m2) => {
        const a = subscription({ metadata: m1 });
        const shuffled = Object.fromEntries(Object.entries(subscription({ metadata: { ...m1 } })).reverse());
        const idA = ok(toSnapshotEvent(a, options)).event.id;
        expect(ok(toSnapshotEvent(shuffled, options)).event.id).toBe(idA);
        const idB = ok(toSnapshotEvent(subscription({ metadata: m2 }), options)).event.id;
        expect(idB === idA).toBe(canonicalJson(m1) === canonicalJson(m2));
      }),
    );
  });
});

describe("snapshotCreated: the latest change the object records", () => {
  it.each([
    { name: "a subscription: the latest item period start", object: subscription(), created: 1_724_632_400 },
    {
      name: "a subscription before basil: top-level period start",
      object: subscription({ items: { data: [] }, current_period_start: 1_723_000_000 }),
      created: 1_723_000_000,
    },
    {
      name: "a canceled subscription: canceled_at / ended_at",
      object: subscription({ items: { data: [] }, canceled_at: 1_725_000_000, ended_at: 1_725_000_100 }),
      created: 1_725_000_100,
    },
    {
      name: "a subscription: future fields (trial_end, cancel_at, period end) are ignored",
      object: subscription({ items: { data: [] }, trial_end: 1_900_000_000, cancel_at: 1_900_000_000 }),
      created: 1_721_954_000,
    },
    {
      name: "an invoice: paid_at",
      object: {
        id: "in_1",
        object: "invoice",
        created: 1_721_954_000,
        livemode: false,
        due_date: 1_900_000_000,
        next_payment_attempt: 1_900_000_000,
        status_transitions: { finalized_at: 1_721_954_100, paid_at: 1_721_954_200, voided_at: null },
      },
      created: 1_721_954_200,
    },
    {
      name: "a charge: its latest refund",
      object: {
        ...objects.charge("cus_1"),
        refunds: { object: "list", data: [{ created: 1_722_000_000 }, { created: 1_723_000_000 }] },
      },
      created: 1_723_000_000,
    },
    {
      name: "a dispute: its latest balance transaction, not the evidence due date",
      object: {
        ...objects.dispute(),
        balance_transactions: [{ id: "txn_1", created: 1_722_100_000 }],
        evidence_details: { due_by: 1_900_000_000 },
      },
      created: 1_722_100_000,
    },
    {
      name: "a product: updated",
      object: { id: "prod_1", object: "product", created: 1_700_000_000, updated: 1_721_000_000, livemode: false },
      created: 1_721_000_000,
    },
    { name: "a customer: created (nothing else is recorded)", object: objects.customer(), created: 1_721_948_530 },
    {
      name: "a price: created",
      object: { id: "price_1", object: "price", created: 1_700_000_000, livemode: false },
      created: 1_700_000_000,
    },
  ])("uses $name", ({ object, created }) => {
    expect(ok(toSnapshotEvent(object, options)).event.created).toBe(created);
  });

  it("ignores non-integer values", () => {
    expect(snapshotCreated("product", { created: 10, updated: "2024-01-01" })).toBe(10);
    expect(snapshotCreated("product", { created: 10, updated: 20.5 })).toBe(10);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every level, keeps array order, drops undefined like JSON.stringify", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson([undefined, null])).toBe("[null,null]");
  });
});

describe.skipIf(!hasStripeFixtures)("snapshots of Stripe's example objects", () => {
  it.each(SNAPSHOT_RESOURCES)("turns a %s into a <object>.snapshot event that parses and keys", (resource) => {
    const object = stripeFixture(resource);
    const { event, payload } = ok(toSnapshotEvent(object, options));
    expect(event.type).toBe(`${resource}.snapshot`);
    expect(event.id.startsWith(SNAPSHOT_ID_PREFIX)).toBe(true);
    expect(event.created).toBeGreaterThanOrEqual(object["created"] as number);
    const parsed = parseStripeEvent(Buffer.from(payload));
    expect(parsed).toMatchObject({ ok: true, kind: "keyed", objectId: object["id"] });
    expect(ok(toSnapshotEvent(stripeFixture(resource), options)).event.id).toBe(event.id);
  });

  it("gives different ids to different resources", () => {
    const ids = SNAPSHOT_RESOURCES.map((r) => ok(toSnapshotEvent(stripeFixture(r), options)).event.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
