/**
 * A small deterministic Stripe history for integration tests with the real projector: customers
 * (some without email, some with metadata, some deleted), one-off charges in zero-, two- and
 * three-decimal currencies, a refund, subscriptions in every status with a named product.
 */
import { type RawStripeEvent, stripeEvent } from "./event-log.ts";

const T0 = 1_735_689_600; // 2025-01-01

export function stripeHistory(n: number, prefix: string): RawStripeEvent[] {
  const events: RawStripeEvent[] = [];
  const currencies = ["usd", "eur", "jpy", "kwd"];
  const statuses = [null, "active", "trialing", "past_due", "canceled"];
  const products = [0, 1, 2].map((k) => ({
    id: `prod_${prefix}_${k}`,
    object: "product",
    name: `Plan ${k}`,
    active: true,
  }));
  for (const p of products) events.push(stripeEvent("product.created", T0, p));
  for (let i = 0; i < n; i++) {
    const id = `cus_${prefix}_${i}`;
    const currency = currencies[i % currencies.length] ?? "usd";
    const t = T0 + i * 60;
    const customer = {
      id,
      object: "customer",
      email: i % 23 === 5 ? null : `${prefix}.${i}@example.com`,
      name: i % 4 === 0 ? null : `Ada${i} Lovelace`,
      phone: null,
      currency,
      created: t,
      metadata: i % 5 === 0 ? { customer_tier: "gold" } : {},
      discount: null,
    };
    events.push(stripeEvent("customer.created", t, customer));
    const payments = i % 3;
    for (let k = 0; k < payments; k++) {
      const amount = 1000 + i * 7 + k * 13;
      events.push(
        stripeEvent("charge.succeeded", t + 10 + k, {
          id: `ch_${prefix}_${i}_${k}`,
          object: "charge",
          customer: id,
          status: "succeeded",
          captured: true,
          paid: true,
          amount,
          amount_captured: amount,
          amount_refunded: 0,
          refunded: false,
          currency,
          created: t + 10 + k,
        }),
      );
    }
    const status = statuses[i % statuses.length] ?? null;
    if (status !== null) {
      const product = products[i % products.length] ?? products[0];
      events.push(
        stripeEvent("customer.subscription.created", t + 20, {
          id: `sub_${prefix}_${i}`,
          object: "subscription",
          customer: id,
          status,
          created: t + 20,
          start_date: t + 20,
          currency,
          cancel_at_period_end: false,
          trial_end: status === "trialing" ? t + 14 * 86_400 : null,
          current_period_start: t + 20,
          current_period_end: t + 20 + 30 * 86_400,
          discount: null,
          discounts: [],
          items: {
            object: "list",
            data: [
              {
                id: `si_${prefix}_${i}`,
                object: "subscription_item",
                quantity: 1,
                discounts: [],
                price: {
                  id: `price_${prefix}_${i % 3}_${currency}`,
                  object: "price",
                  active: true,
                  currency,
                  nickname: null,
                  product: product?.id,
                  unit_amount: 2000 + (i % 3) * 1000,
                  billing_scheme: "per_unit",
                  tiers_mode: null,
                  transform_quantity: null,
                  type: "recurring",
                  recurring: {
                    interval: "month",
                    interval_count: 1,
                    usage_type: "licensed",
                    meter: null,
                    trial_period_days: null,
                  },
                },
              },
            ],
          },
        }),
      );
    }
    if (i % 17 === 3) events.push(stripeEvent("customer.deleted", t + 40, { ...customer, deleted: true }));
  }
  return events;
}
