import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type DecodedEvent, decodeEvent } from "./domain/events.ts";
import { PADDLE_MRR_RULES, PROFITWELL_MRR_RULES, STRIPE_MRR_RULES } from "./domain/mrr.ts";
import type { ObjectSnapshot } from "./domain/snapshots.ts";
import {
  charge,
  customer,
  dispute,
  event,
  product,
  type RawObject,
  refund,
  subscription,
} from "./domain/stripe-test-events.ts";
import { parseFoldArgs, runFold } from "./fold-cli.ts";

const T = 1_700_000_000; // 2023-11-14T22:13:20Z

async function* linesOf(lines: readonly string[]): AsyncGenerator<string> {
  for (const line of lines) yield line;
}

const run = async (lines: readonly string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const counts = await runFold(
    linesOf(lines),
    (line) => out.push(line),
    (line) => err.push(line),
  );
  return { counts, out, err, rows: out.map((line) => JSON.parse(line) as Record<string, unknown>) };
};

const json = (value: unknown): string => JSON.stringify(value);

describe("runFold", () => {
  it("prints one snake_case row per customer, sorted by customer id", async () => {
    const { counts, rows, err } = await run([
      json(
        event(
          "customer.created",
          T,
          customer("cus_b", {
            email: "b@example.com",
            metadata: { tier: "vip" },
            // Issue #20: the connector attributes.
            balance: -500,
            delinquent: true,
            address: { country: "fr", city: "Lyon", line1: "1 rue X", postal_code: "69001" },
            discount: { id: "di_1", object: "discount", coupon: { id: "SPRING", name: "Spring 20%", percent_off: 20 } },
          }),
        ),
      ),
      json(
        event(
          "charge.succeeded",
          T + 60,
          charge("cus_b_charge", "cus_b", { amount: 5500, amount_captured: 5500, created: T + 60 }),
        ),
      ),
      json(event("customer.created", T, customer("cus_a"))),
      json(
        event(
          "customer.subscription.created",
          T,
          subscription({
            id: "sub_1",
            customer: "cus_a",
            status: "trialing",
            trial_end: T + 86_400,
            items: [{ id: "price_1", product: "prod_1" }],
          }),
        ),
      ),
      json(event("product.created", T, product("prod_1", "Gold"))),
    ]);
    expect(err).toEqual([]);
    expect(counts).toEqual({ folded: 5, skipped: 0 });
    expect(rows.map((r) => r["customer_id"])).toEqual(["cus_a", "cus_b"]);
    expect(rows[1]).toEqual({
      customer_id: "cus_b",
      email: "b@example.com",
      name: "Name cus_b",
      phone: null,
      currency: "usd",
      created_at: "2023-11-14T22:13:20.000Z",
      deleted: false,
      metadata: { tier: "vip" },
      payment_count: 1,
      total_spent: { usd: 5500 },
      average_order_value: { usd: 5500 },
      last_payment_at: "2023-11-14T22:14:20.000Z",
      failed_payment_count: 0,
      refunded_total: {},
      dispute_count: 0,
      mrr: {},
      subscription_status: null,
      plan_name: null,
      subscription_started_at: null,
      trial_end: null,
      cancel_at_period_end: null,
      current_period_end: null,
      churned: false,
      balance: { usd: -500 },
      country: "FR",
      city: "Lyon",
      delinquent: true,
      plan_names: [],
      coupon_name: "Spring 20%",
      last_event_at: "2023-11-14T22:14:20.000Z",
    });
    expect(rows[0]).toMatchObject({
      subscription_status: "trialing",
      plan_name: "Gold",
      plan_names: ["Gold"],
      balance: {},
      country: null,
      coupon_name: null,
      trial_end: "2023-11-15T22:13:20.000Z",
      mrr: {},
      total_spent: {},
    });
  });

  it("reports invalid lines with their 1-based number and still folds the rest", async () => {
    const { counts, rows, err } = await run([
      json(event("charge.succeeded", T, charge("ch_1", "cus_1"))),
      "{not json",
      json({ id: "evt_x", type: "charge.succeeded", created: "yesterday", data: { object: {} } }),
      "",
      json(event("charge.succeeded", T, charge("ch_2", "cus_1", { status: 42 }))),
      json(event("payment_intent.created", T, { id: "pi_1", object: "payment_intent", customer: "cus_9" })),
      json(event("charge.succeeded", T, charge("ch_3", "cus_1"))),
    ]);
    expect(counts).toEqual({ folded: 3, skipped: 3 });
    expect(err).toHaveLength(3);
    expect(err[0]).toMatch(/^line 2: invalid JSON: /);
    expect(err[1]).toMatch(/^line 3: not a valid Stripe event: event\.created: /);
    expect(err[2]).toMatch(/^line 5: not a valid Stripe event: data\.object\.status: /);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ customer_id: "cus_1", payment_count: 2 });
  });

  it("prints nothing for an empty input or events without customers", async () => {
    expect(await run([])).toMatchObject({ counts: { folded: 0, skipped: 0 }, out: [], err: [] });
    const guest = await run([json(event("product.created", T, product("prod_1", "Gold")))]);
    expect(guest).toMatchObject({ counts: { folded: 1, skipped: 0 }, out: [] });
  });

  it("gives byte-identical output whatever the order and duplication of the lines", async () => {
    const lines = [
      json(event("customer.created", T, customer("cus_1"))),
      json(event("charge.succeeded", T, charge("ch_1", "cus_1", { currency: "eur" }))),
      json(event("charge.refunded", T + 5, charge("ch_1", "cus_1", { currency: "eur", amount_refunded: 400 }))),
      json(event("refund.created", T + 5, refund("re_1", "ch_1", { currency: "eur", amount: 400 }))),
      json(
        event(
          "charge.dispute.closed",
          T + 9,
          dispute("dp_1", "ch_1", { currency: "eur", amount: 600, status: "lost" }),
        ),
      ),
      json(event("customer.deleted", T + 10, customer("cus_1"))),
      json(event("customer.updated", T + 10, customer("cus_1", { email: "ghost@example.com" }))),
    ];
    const forward = await run(lines);
    const backward = await run([...lines, ...lines].reverse());
    expect(backward.out).toEqual(forward.out);
    expect(forward.rows[0]).toMatchObject({
      deleted: true,
      email: null,
      total_spent: { eur: 0 },
      refunded_total: { eur: 400 },
      dispute_count: 1,
    });
  });
});

// Stripe's own example object for every resource, at a recent (post-basil) API version.
const FIXTURES = fileURLToPath(new URL("../../../../shared/fixtures/stripe/fixtures3.json", import.meta.url));

describe.skipIf(!existsSync(FIXTURES))("Stripe's example objects (fixtures3.json)", () => {
  const resources = (): Record<string, RawObject> =>
    existsSync(FIXTURES) ? JSON.parse(readFileSync(FIXTURES, "utf8")).resources : {};
  const resource = (name: string): RawObject => {
    const object = resources()[name];
    if (!object) throw new Error(`fixture ${name} missing`);
    return object;
  };
  const snapshotOf = (raw: unknown): ObjectSnapshot => {
    const result = decodeEvent(raw);
    if (!result.ok) throw new Error(result.reason);
    const e: DecodedEvent = result.event;
    if (e.outcome !== "snapshot") throw new Error(`ignored: ${e.reason}`);
    return e.snapshot;
  };

  it.each([
    ["customer", "customer"],
    ["charge", "charge"],
    ["subscription", "subscription"],
    ["invoice", "invoice"],
    ["dispute", "dispute"],
    ["product", "product"],
    ["price", "price"],
    ["refund", "refund"],
    ["coupon", "coupon"],
    ["discount", "discount"],
    ["deleted_customer", "customer"],
    ["deleted_product", "product"],
  ])("%s decodes as a %s snapshot", (name, kind) => {
    expect(snapshotOf(event(`${kind}.snapshot`, T, resource(name)))).toMatchObject({ kind });
  });

  it("reads the basil-shaped subscription (period on the items)", () => {
    expect(snapshotOf(event("customer.subscription.updated", T, resource("subscription")))).toMatchObject({
      kind: "subscription",
      data: {
        id: "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
        customer: "cus_QXg1o8vcGmoR32",
        status: "active",
        cancelAtPeriodEnd: true,
        currentPeriodEnd: 976287773,
        items: [{ price: { id: "price_1PgafmB7WZ01zgkW6dKueIc5", unitAmountDecimal: "2000" } }],
      },
    });
  });

  it("reads the basil-shaped invoice (subscription under parent)", () => {
    expect(snapshotOf(event("invoice.created", T, resource("invoice")))).toMatchObject({
      kind: "invoice",
      data: { customer: "cus_QXg1o8vcGmoR32", subscription: "subscription", status: "draft" },
    });
  });

  it("reads the clover-shaped discount (coupon under source)", () => {
    const object = { ...resource("discount"), source: { type: "coupon", coupon: "co_1" } };
    expect(snapshotOf(event("customer.discount.created", T, object))).toMatchObject({
      kind: "discount",
      data: { coupon: "co_1", customer: "cus_QXg1o8vcGmoR32" },
    });
  });

  it("ignores the example event's plan object", () => {
    expect(decodeEvent(resource("event"))).toMatchObject({ ok: true, event: { outcome: "ignored" } });
  });

  it("folds the examples into a row for their customer", async () => {
    const sub = { ...resource("subscription"), cancel_at_period_end: false };
    const paidCharge = { ...resource("charge"), customer: "cus_QXg1o8vcGmoR32", captured: true, amount_captured: 100 };
    const { rows, err } = await run([
      json(event("customer.created", T, resource("customer"))),
      json(event("customer.subscription.created", T, sub)),
      json(event("charge.succeeded", T, paidCharge)),
      json(event("product.created", T, resource("product"))),
      json(event("invoice.created", T, resource("invoice"))),
    ]);
    expect(err).toEqual([]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      customer_id: "cus_QXg1o8vcGmoR32",
      subscription_status: "active",
      plan_name: "T-shirt",
      payment_count: 1,
      total_spent: { usd: 100 },
      // The example price's transform_quantity divides the quantity 1 by 1,592,560,163, rounding down.
      mrr: { usd: 0 },
    });
  });
});

describe("parseFoldArgs (--mrr-rules)", () => {
  it.each([
    { argv: ["e.ndjson"], expected: { ok: true, path: "e.ndjson", strict: false, options: { mrr: STRIPE_MRR_RULES } } },
    {
      argv: ["-", "--strict", "--mrr-rules", "profitwell"],
      expected: { ok: true, path: "-", strict: true, options: { mrr: PROFITWELL_MRR_RULES } },
    },
    {
      argv: ["--mrr-rules=paddle", "e.ndjson"],
      expected: { ok: true, path: "e.ndjson", options: { mrr: PADDLE_MRR_RULES } },
    },
    {
      argv: ["e.ndjson", "--mrr-rules", "baremetrics"],
      expected: { ok: false, error: expect.stringContaining('got "baremetrics"') },
    },
    {
      argv: ["e.ndjson", "--mrr-rules"],
      expected: { ok: false, error: expect.stringContaining("stripe, chartmogul, paddle, profitwell") },
    },
    { argv: ["e.ndjson", "--mrr"], expected: { ok: false, error: "unknown option --mrr" } },
    { argv: [], expected: { ok: false, error: "expected exactly one input file or -" } },
  ])("$argv", ({ argv, expected }) => {
    expect(parseFoldArgs(argv)).toMatchObject(expected);
  });

  it("the chosen rules reach the read model", async () => {
    const lines = [
      json(
        event(
          "customer.subscription.updated",
          T,
          subscription({
            id: "sub_1",
            customer: "cus_1",
            cancel_at_period_end: true,
            items: [{ id: "price_1", unit_amount: 1000 }],
          }),
        ),
      ),
    ];
    const mrrWith = async (argv: string[]) => {
      const args = parseFoldArgs(["-", ...argv]);
      if (!args.ok) throw new Error(args.error);
      const out: string[] = [];
      await runFold(
        linesOf(lines),
        (l) => out.push(l),
        () => undefined,
        args.options,
      );
      return JSON.parse(out[0] ?? "{}").mrr;
    };
    // Stripe drops a subscription set to cancel at period end at once; ProfitWell keeps it.
    expect(await mrrWith([])).toEqual({});
    expect(await mrrWith(["--mrr-rules", "profitwell"])).toEqual({ usd: 1000 });
  });
});

describe("fold --history", () => {
  it.each([
    { argv: ["e.ndjson", "--history"], expected: { ok: true, history: { until: null } } },
    {
      argv: ["e.ndjson", "--history", "--until", "2024-02"],
      expected: { ok: true, history: { until: 2024 * 12 + 1 } },
    },
    { argv: ["e.ndjson"], expected: { ok: true, history: null } },
    {
      argv: ["e.ndjson", "--history", "--until=24-2"],
      expected: { ok: false, error: expect.stringContaining('"24-2"') },
    },
    { argv: ["e.ndjson", "--until", "2024-02"], expected: { ok: false, error: "--until 2024-02 needs --history" } },
  ])("$argv", ({ argv, expected }) => {
    expect(parseFoldArgs(argv)).toMatchObject(expected);
  });

  it("prints the monthly MRR rows, carried forward through --until", async () => {
    const args = parseFoldArgs(["-", "--history", "--until", "2024-01"]);
    if (!args.ok || args.history === null || args.history.until === null) throw new Error("unexpected parse");
    const sub = (type: string, at: number, quantity: number, status = "active") =>
      json(
        event(
          type,
          at,
          subscription({
            id: "sub_1",
            customer: "cus_1",
            status,
            items: [{ id: "price_1", unit_amount: 1000, quantity }],
          }),
        ),
      );
    const out: string[] = [];
    const err: string[] = [];
    // T is 2023-11-14: new in November, expansion in December, carried into January.
    await runFold(
      linesOf([
        sub("customer.subscription.updated", T + 20 * 86_400, 2),
        "not json",
        sub("customer.subscription.created", T, 1),
      ]),
      (l) => out.push(l),
      (l) => err.push(l),
      args.options,
      { until: args.history.until },
    );
    expect(err).toEqual([expect.stringContaining("line 2: invalid JSON")]);
    expect(out.map((l) => JSON.parse(l))).toEqual([
      {
        customer_id: "cus_1",
        currency: "usd",
        month: "2023-11-01",
        mrr: 1000,
        previous_mrr: 0,
        movement: "new",
        change: 1000,
        subscriptions: 1,
      },
      {
        customer_id: "cus_1",
        currency: "usd",
        month: "2023-12-01",
        mrr: 2000,
        previous_mrr: 1000,
        movement: "expansion",
        change: 1000,
        subscriptions: 1,
      },
      {
        customer_id: "cus_1",
        currency: "usd",
        month: "2024-01-01",
        mrr: 2000,
        previous_mrr: 2000,
        movement: null,
        change: 0,
        subscriptions: 1,
      },
    ]);
  });
});
