/**
 * Deterministic generated Stripe histories (seeded), built with the domain's test builders: many
 * snapshots per object, same-second ties, deletions, refunds and disputes keyed apart from their
 * charge, catalog objects shared between customers, duplicates, both payload shapes. Used by the
 * integration tests and the benchmark; `padded` adds the bulk of fields real payloads carry.
 */
import {
  charge,
  coupon,
  customer,
  discount,
  dispute,
  event,
  invoice,
  price,
  product,
  type RawEvent,
  type RawObject,
  refund,
  type Shape,
  subscription,
} from "../domain/stripe-test-events.ts";

export interface HistoryOptions {
  readonly seed: number;
  readonly events: number;
  readonly customers: number;
  /** Adds fields the projector ignores, to the size of real Stripe payloads (~2 KB per event). */
  readonly padded?: boolean;
  /** Base of the `created` window; events spread over `spanSeconds`. */
  readonly start?: number;
  readonly spanSeconds?: number;
  /** Prefix of every id, so histories of different tests never share objects. */
  readonly prefix?: string;
  /**
   * Share of generated records that update a shared catalog object (price, product, coupon).
   * Default 0.05: a stress mix for tests (every price, product and coupon changes thousands of
   * times). Real accounts change their catalog a few times a month against thousands of
   * customer-side events a day, so the benchmark passes a much smaller share.
   */
  readonly catalogChurn?: number;
}

/** mulberry32: small, fast, good enough for test data. */
export const prng = (seed: number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const PADDING: RawObject = {
  billing_details: {
    address: { city: "Berlin", country: "DE", line1: "Musterstraße 1", line2: null, postal_code: "10115", state: null },
    email: null,
    name: "Jenny Rosen",
    phone: null,
  },
  payment_method_details: {
    card: {
      brand: "visa",
      checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: "pass" },
      country: "US",
      exp_month: 8,
      exp_year: 2030,
      fingerprint: "Xt5EWLLDS7FJjR1c",
      funding: "credit",
      last4: "4242",
      network: "visa",
      three_d_secure: null,
      wallet: null,
    },
    type: "card",
  },
  fraud_details: {},
  outcome: {
    network_status: "approved_by_network",
    reason: null,
    risk_level: "normal",
    risk_score: 32,
    seller_message: "Payment complete.",
    type: "authorized",
  },
  receipt_url: "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8xTTJKVGtMa2RJd0h1N2l4KM6Q0KcGMgZSYmFlHdo6LBZ",
  statement_descriptor: null,
  statement_descriptor_suffix: null,
  transfer_group: null,
  description: "Subscription update",
  shipping: null,
  source_transfer: null,
  application_fee: null,
  balance_transaction: "txn_1MiN3gLkdIwHu7ixxapQrznl",
  invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
  preferred_locales: ["de", "en"],
  tax_exempt: "none",
  test_clock: null,
};

export function generateHistory(opts: HistoryOptions): RawEvent[] {
  const rand = prng(opts.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const int = (n: number) => Math.floor(rand() * n);
  const p = opts.prefix ?? "g";
  const start = opts.start ?? 1_700_000_000;
  const span = opts.spanSeconds ?? 3600;
  const cus = (i: number) => `cus_${p}${i}`;
  const currencies = ["usd", "eur", "gbp"] as const;
  const pad = (o: RawObject): RawObject => (opts.padded ? { ...PADDING, ...o } : o);
  const products = Array.from({ length: 5 }, (_, i) => `prod_${p}${i}`);
  const priceIds = Array.from({ length: 8 }, (_, i) => `price_${p}${i}`);
  const couponSpecs = [
    { id: `co_${p}0`, duration: "forever" as const, percent_off: 20 },
    { id: `co_${p}1`, duration: "once" as const, percent_off: 50 },
    { id: `co_${p}2`, duration: "forever" as const, amount_off: 500, currency: "usd" },
  ];
  const priceSpec = (id: string) => {
    const n = Number(id.slice(id.lastIndexOf(p) + p.length));
    return {
      id,
      product: products[n % products.length] as string,
      unit_amount: 500 + 250 * n,
      interval: (["month", "year", "week", "month"] as const)[n % 4] ?? "month",
      interval_count: 1 + (n % 2),
      nickname: n % 3 === 0 ? null : `Plan ${n}`,
      currency: "usd",
    };
  };
  const events: RawEvent[] = [];
  // The base mix gives 5 % to catalog updates (r >= 0.95); other shares are scaled to keep their ratios.
  const churn = opts.catalogChurn ?? 0.05;
  if (!(churn > 0 && churn <= 1)) throw new Error("catalogChurn must be in (0, 1]");
  const churnScale = (r: number) =>
    churn === 0.05 ? r : r < 1 - churn ? (r * 0.95) / (1 - churn) : 0.95 + ((r - (1 - churn)) * 0.05) / churn;
  const shapeOf = (): Shape => (rand() < 0.5 ? "legacy" : "basil");
  const when = () => start + int(span);
  const chargesOf: string[][] = Array.from({ length: opts.customers }, () => []);
  const emit = (type: string, object: RawObject, shape: Shape = "legacy") => {
    const created = when();
    events.push(event(type, created, object, { shape, id: `evt_${p}${events.length}` }));
    // Now and then Stripe delivers an event twice.
    if (rand() < 0.02) events.push(events[events.length - 1] as RawEvent);
  };

  while (events.length < opts.events) {
    const c = int(opts.customers);
    const id = cus(c);
    const r = churnScale(rand());
    if (r < 0.22) {
      const type = rand() < 0.02 ? "customer.deleted" : pick(["customer.created", "customer.updated"]);
      emit(
        type,
        pad(
          customer(id, {
            email: `${id}@example.com`,
            name: `Customer ${c} v${int(3)}`,
            currency: pick(currencies),
            metadata: { plan: pick(["a", "b"]) },
          }),
        ),
      );
    } else if (r < 0.55) {
      const chargeId = `ch_${p}${c}_${int(4)}`;
      if (!chargesOf[c]?.includes(chargeId)) chargesOf[c]?.push(chargeId);
      const status = pick(["succeeded", "succeeded", "succeeded", "failed", "pending"]);
      const amount = 1000 + 100 * int(50);
      const refunded = status === "succeeded" && rand() < 0.1 ? amount / 2 : 0;
      emit(
        pick(["charge.succeeded", "charge.updated", status === "failed" ? "charge.failed" : "charge.captured"]),
        pad(
          charge(chargeId, rand() < 0.97 ? id : null, {
            status,
            amount,
            amount_captured: amount,
            amount_refunded: refunded,
            currency: pick(currencies),
            created: start - 100,
          }),
        ),
      );
    } else if (r < 0.62) {
      const chargeId = pick(chargesOf[c]?.length ? chargesOf[c] : [`ch_${p}${c}_0`]);
      if (rand() < 0.6) {
        emit("refund.created", refund(`re_${chargeId}_${int(2)}`, chargeId, { amount: 100 * (1 + int(5)) }));
      } else {
        emit(
          pick(["charge.dispute.created", "charge.dispute.closed"]),
          dispute(`dp_${chargeId}`, chargeId, { status: pick(["needs_response", "won", "lost"]), amount: 700 }),
        );
      }
    } else if (r < 0.8) {
      const shape = shapeOf();
      const items = [priceSpec(pick(priceIds))];
      const discounts = rand() < 0.2 ? [`di_${p}${c}`] : [];
      emit(
        pick(["customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted"]),
        subscription(
          {
            id: `sub_${p}${c}_${int(2)}`,
            customer: id,
            status: pick(["active", "active", "trialing", "past_due", "canceled"]),
            cancel_at_period_end: rand() < 0.1,
            items: items.map((i) => ({ ...i, quantity: 1 + int(3) })),
            discounts,
          },
          shape,
        ),
        shape,
      );
    } else if (r < 0.92) {
      const shape = shapeOf();
      emit(
        pick(["invoice.created", "invoice.paid"]),
        invoice(`in_${p}${c}_${int(3)}`, id, `sub_${p}${c}_0`, shape, { status: pick(["open", "paid"]) }),
        shape,
      );
    } else if (r < 0.95) {
      emit(
        "customer.discount.created",
        discount(`di_${p}${c}`, pick(couponSpecs), { subscription: `sub_${p}${c}_0`, clover: rand() < 0.5 }),
      );
    } else if (r < 0.97) {
      emit(
        pick(["price.created", "price.updated"]),
        price({ ...priceSpec(pick(priceIds)), nickname: pick([null, "Pro"]) }),
      );
    } else if (r < 0.985) {
      emit("product.updated", product(pick(products), pick(["Gold", "Silver", "Bronze"])));
    } else {
      emit("coupon.updated", { id: pick(couponSpecs).id, ...coupon(pick(couponSpecs)) });
    }
  }
  return events.slice(0, opts.events);
}
