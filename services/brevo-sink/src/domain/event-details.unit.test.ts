import { describe, expect, it } from "vitest";
import { parseSinkConfigText } from "../config-file.ts";
import { cardExpires, detailProperties, MAX_EVENT_LINE_ITEMS } from "./event-details.ts";
import { decideEvent, type SinkEvent } from "./events.ts";

/** Issue #20: what each lifecycle event carries for a template, in both API shapes (pre-basil and basil). */

const config = parseSinkConfigText(
  "version: 1\nevents: { mapping: { payment_intent.payment_failed: pi_failed, invoice.finalized: invoice_issued } }",
);
const event = (type: string, object: Record<string, unknown>): SinkEvent => ({
  id: `evt_${type}`,
  type,
  created: 1_750_000_000,
  customerId: "cus_1",
  live: true,
  object,
});
const props = (type: string, object: Record<string, unknown>) => {
  const d = decideEvent(event(type, object), config, 0);
  if (!d.send) throw new Error(`${type} not sent: ${d.reason}`);
  return d.request.event_properties;
};

const preBasilLine = {
  id: "il_1",
  object: "line_item",
  amount: 1500,
  currency: "eur",
  description: "1 × Pro (at €15.00 / month)",
  quantity: 1,
  price: { id: "price_1", nickname: "Pro monthly", product: "prod_1" },
  plan: { id: "price_1", nickname: "Pro monthly" },
};
const basilLine = {
  id: "il_1",
  object: "line_item",
  amount: 1500,
  currency: "eur",
  description: "1 × Pro (at €15.00 / month)",
  quantity: 1,
  pricing: { type: "price_details", price_details: { price: "price_1", product: "prod_1" } },
};
const invoice = (line: Record<string, unknown>) => ({
  id: "in_1",
  object: "invoice",
  customer: "cus_1",
  currency: "eur",
  number: "ABC-0001",
  amount_due: 1500,
  hosted_invoice_url: "https://invoice.stripe.com/i/acct/in_1",
  due_date: 1_750_600_000,
  lines: { object: "list", data: [line], has_more: false },
});

describe("event properties per lifecycle event", () => {
  it.each([
    ["pre-basil", preBasilLine, { plan_names: "Pro monthly" }],
    ["basil", basilLine, {}],
  ])("invoice.upcoming / finalized (%s): number, hosted URL, due date, line items", (_shape, line, extra) => {
    for (const type of ["invoice.upcoming", "invoice.finalized"]) {
      const p = props(type, invoice(line));
      expect(p).toMatchObject({
        number: "ABC-0001",
        hosted_invoice_url: "https://invoice.stripe.com/i/acct/in_1",
        due_date: "2025-06-22T13:46:40.000Z",
        amount_due: 1500,
        amount_due_display: "15.00",
        line_items: [
          { name: "1 × Pro (at €15.00 / month)", quantity: 1, amount_total: 1500, amount_total_display: "15.00" },
        ],
        line_items_count: 1,
        ...extra,
      });
      if (!("plan_names" in extra)) expect(p).not.toHaveProperty("plan_names");
    }
  });

  it("payment_intent.payment_failed: amount and the failure message", () => {
    const p = props("payment_intent.payment_failed", {
      id: "pi_1",
      object: "payment_intent",
      customer: "cus_1",
      amount: 1099,
      currency: "usd",
      status: "requires_payment_method",
      last_payment_error: { type: "card_error", message: "Your card was declined." },
    });
    expect(p).toMatchObject({ amount: 1099, amount_display: "10.99", failure_message: "Your card was declined." });
  });

  it.each([
    [
      "card (customer.source.expiring)",
      { id: "card_1", object: "card", customer: "cus_1", brand: "Visa", last4: "4242", exp_month: 2, exp_year: 2028 },
    ],
    [
      "source (legacy)",
      {
        id: "src_1",
        object: "source",
        customer: "cus_1",
        card: { brand: "Visa", last4: "4242", exp_month: 2, exp_year: 2028 },
      },
    ],
  ])("customer.source.expiring, %s: brand, last 4, expiry as the month's last day", (_shape, object) => {
    expect(props("customer.source.expiring", object)).toMatchObject({
      card_brand: "Visa",
      card_last4: "4242",
      card_expires: "2028-02-29",
    });
  });

  it("checkout line items: product names, quantities; capped and flagged when over the cap", () => {
    const items = Array.from({ length: MAX_EVENT_LINE_ITEMS + 5 }, (_, i) => ({
      id: `li_${i}`,
      object: "item",
      description: null,
      quantity: 1,
      amount_total: 100,
      currency: "usd",
      price: { id: `price_${i}`, product: { id: `prod_${i}`, name: `Product ${i}` } },
    }));
    const p = detailProperties(
      { object: "checkout.session", sbs_line_items: { data: items, truncated: false } },
      "usd",
    );
    expect(p["line_items_count"]).toBe(items.length);
    expect(p["line_items_truncated"]).toBe(1);
    expect((p["line_items"] as unknown[]).length).toBe(MAX_EVENT_LINE_ITEMS);
    expect((p["line_items"] as Record<string, unknown>[])[0]).toEqual({
      name: "Product 0",
      quantity: 1,
      amount_total: 100,
      amount_total_display: "1.00",
    });
    // Far below Brevo's 50 KB even with long names at the cap.
    const long = items.map((i) => ({ ...i, description: "x".repeat(5000) }));
    const big = detailProperties(
      { object: "checkout.session", sbs_line_items: { data: long, truncated: true } },
      "usd",
    );
    expect(JSON.stringify(big).length).toBeLessThan(50 * 1024);
  });

  it("cardExpires refuses what is not a month", () => {
    expect(cardExpires(12, 2030)).toBe("2030-12-31");
    expect(cardExpires(13, 2030)).toBeUndefined();
    expect(cardExpires("2", 2030)).toBeUndefined();
  });

  it("the sample defaults: checkout_completed, renewal_upcoming, card_expiring on; payment_intent.* off", () => {
    const defaults = parseSinkConfigText("version: 1").events.mapping;
    expect(defaults).toMatchObject({
      "checkout.session.completed": "checkout_completed",
      "invoice.upcoming": "renewal_upcoming",
      "customer.source.expiring": "card_expiring",
    });
    expect(defaults["payment_intent.succeeded"]).toBeUndefined();
    expect(defaults["invoice.finalized"]).toBeUndefined();
  });
});
