/**
 * A realistic Stripe history for the demo and the end-to-end test: customers in several
 * currencies, subscriptions with trials, upgrades, downgrades, payment failures and
 * cancellations, one-off charges, refunds and disputes. Deterministic for a given seed, and
 * shaped as Stripe renders objects at the pinned API version (2025-03-31.basil).
 */

export const DEMO_API_VERSION = "2025-03-31.basil";

type Json = Record<string, unknown>;

export interface StripeEventObject {
  id: string;
  object: "event";
  type: string;
  created: number;
  livemode: false;
  api_version: string;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  data: { object: Json; previous_attributes?: Json };
}

export interface HistoryOptions {
  customers: number;
  seed: number;
  /** Unix seconds of the first event. */
  start: number;
  /** Length of the history. */
  days: number;
}

const DAY = 86_400;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    chance: (p: number) => next() < p,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}

/** Amounts in minor units; JPY has none (zero-decimal). */
const CURRENCIES = [
  { code: "usd", weight: 0.55, scale: 100 },
  { code: "eur", weight: 0.25, scale: 100 },
  { code: "gbp", weight: 0.08, scale: 100 },
  { code: "jpy", weight: 0.12, scale: 1 },
] as const;

const PLANS = [
  { key: "starter", name: "Starter", monthly: 19 },
  { key: "pro", name: "Pro", monthly: 49 },
  { key: "business", name: "Business", monthly: 149 },
] as const;

type Plan = (typeof PLANS)[number];
type Currency = (typeof CURRENCIES)[number];
type Interval = "month" | "year";

/** The item whose cumulative weight first exceeds `roll` (0 ≤ roll < 1). */
function weighted<T extends { weight: number }>(items: readonly [T, ...T[]], roll: number): T {
  let remaining = roll;
  for (const item of items) {
    remaining -= item.weight;
    if (remaining < 0) return item;
  }
  return items[0];
}

const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald", "Frances", "Tim"];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Thompson",
  "Hamilton",
  "Knuth",
  "Allen",
  "Berners",
];

export function generateHistory(options: HistoryOptions): StripeEventObject[] {
  const rnd = prng(options.seed);
  const end = options.start + options.days * DAY;
  const events: StripeEventObject[] = [];
  let counter = 0;
  const id = (prefix: string) => `${prefix}_demo${options.seed}x${(counter++).toString(36).padStart(5, "0")}`;
  const emit = (type: string, created: number, object: Json, previous?: Json) => {
    if (created > end) return;
    events.push({
      id: id("evt"),
      object: "event",
      type,
      created,
      livemode: false,
      api_version: DEMO_API_VERSION,
      pending_webhooks: 1,
      request: { id: type.endsWith(".created") ? id("req") : null, idempotency_key: null },
      data: previous ? { object, previous_attributes: previous } : { object },
    });
  };

  const priceOf = (plan: Plan, currency: Currency, interval: Interval): Json => {
    const major = interval === "year" ? plan.monthly * 10 : plan.monthly;
    const amount = currency.code === "jpy" ? major * 150 : major * currency.scale;
    return {
      id: `price_${plan.key}_${interval}_${currency.code}`,
      object: "price",
      active: true,
      billing_scheme: "per_unit",
      currency: currency.code,
      livemode: false,
      nickname: `${plan.name} ${interval === "year" ? "yearly" : "monthly"}`,
      product: `prod_${plan.key}`,
      recurring: { interval, interval_count: 1, usage_type: "licensed", meter: null, trial_period_days: null },
      tax_behavior: "unspecified",
      type: "recurring",
      unit_amount: amount,
      unit_amount_decimal: String(amount),
    };
  };

  // The catalogue exists before any customer.
  for (const plan of PLANS) {
    emit("product.created", options.start, {
      id: `prod_${plan.key}`,
      object: "product",
      active: true,
      name: plan.name,
      livemode: false,
      metadata: {},
    });
    for (const currency of CURRENCIES) {
      for (const interval of ["month", "year"] as const) {
        emit("price.created", options.start, priceOf(plan, currency, interval));
      }
    }
  }

  for (let n = 0; n < options.customers; n++) {
    const currency = weighted<Currency>(CURRENCIES, rnd.next());
    const first = rnd.pick(FIRST);
    const last = rnd.pick(LAST);
    const customerId = `cus_demo${options.seed}n${n}`;
    const joined = options.start + rnd.int(0, Math.floor(options.days * 0.4)) * DAY + rnd.int(0, DAY - 1);
    const customer: Json = {
      id: customerId,
      object: "customer",
      created: joined,
      currency: currency.code,
      email: `${first}.${last}.${n}@example.com`.toLowerCase(),
      name: `${first} ${last}`,
      phone: rnd.chance(0.5) ? `+3361234${String(n).padStart(4, "0")}` : null,
      livemode: false,
      delinquent: false,
      metadata: rnd.chance(0.2) ? { customer_tier: rnd.pick(["gold", "silver"]) } : {},
    };
    emit("customer.created", joined, customer);

    const charge = (at: number, amount: number, status: "succeeded" | "failed", invoice?: string): Json => {
      const c: Json = {
        id: id("ch"),
        object: "charge",
        amount,
        amount_captured: status === "succeeded" ? amount : 0,
        amount_refunded: 0,
        captured: status === "succeeded",
        created: at,
        currency: currency.code,
        customer: customerId,
        livemode: false,
        paid: status === "succeeded",
        refunded: false,
        status,
        failure_code: status === "failed" ? "card_declined" : null,
        payment_method_details: { type: "card", card: { brand: "visa", last4: "4242" } },
        ...(invoice ? { description: `Invoice ${invoice}` } : {}),
      };
      emit(status === "succeeded" ? "charge.succeeded" : "charge.failed", at, c);
      return c;
    };

    // After a succeeded charge: sometimes a refund (partial or full), rarely a dispute.
    const aftermath = (c: Json, at: number) => {
      const amount = c["amount"] as number;
      if (rnd.chance(0.06)) {
        const refunded = rnd.chance(0.5) ? amount : Math.max(1, Math.round(amount / 2));
        const when = at + rnd.int(1, 10) * DAY;
        emit(
          "charge.refunded",
          when,
          { ...c, amount_refunded: refunded, refunded: refunded === amount },
          { amount_refunded: 0 },
        );
        emit("refund.created", when, {
          id: id("re"),
          object: "refund",
          amount: refunded,
          charge: c["id"],
          currency: currency.code,
          created: when,
          status: "succeeded",
        });
      } else if (rnd.chance(0.015)) {
        const opened = at + rnd.int(3, 20) * DAY;
        const dispute: Json = {
          id: id("dp"),
          object: "dispute",
          amount,
          charge: c["id"],
          currency: currency.code,
          created: opened,
          livemode: false,
          reason: "fraudulent",
          status: "needs_response",
        };
        emit("charge.dispute.created", opened, dispute);
        const lost = rnd.chance(0.5);
        emit(
          "charge.dispute.closed",
          opened + 14 * DAY,
          { ...dispute, status: lost ? "lost" : "won" },
          { status: "under_review" },
        );
      }
    };

    if (rnd.chance(0.7)) {
      // A subscriber: optional trial, monthly or yearly billing, maybe a plan change, maybe a cancellation.
      let plan = rnd.pick(PLANS);
      const interval: Interval = rnd.chance(0.2) ? "year" : "month";
      const subscriptionId = `sub_demo${options.seed}n${n}`;
      const trialDays = rnd.chance(0.4) ? 14 : 0;
      const started = joined + rnd.int(0, 3) * DAY;
      const periodLength = interval === "year" ? 365 * DAY : 30 * DAY;
      let status = trialDays > 0 ? "trialing" : "active";
      let periodStart = started;
      let periodEnd = started + (trialDays > 0 ? trialDays * DAY : periodLength);
      let cancelAtPeriodEnd = false;
      const subscription = (): Json => ({
        id: subscriptionId,
        object: "subscription",
        customer: customerId,
        status,
        created: started,
        start_date: started,
        currency: currency.code,
        cancel_at_period_end: cancelAtPeriodEnd,
        canceled_at: status === "canceled" ? periodEnd : null,
        trial_start: trialDays > 0 ? started : null,
        trial_end: trialDays > 0 ? started + trialDays * DAY : null,
        livemode: false,
        discounts: [],
        items: {
          object: "list",
          data: [
            {
              id: `si_${subscriptionId}`,
              object: "subscription_item",
              quantity: plan.key === "business" ? rnd.int(1, 5) : 1,
              price: priceOf(plan, currency, interval),
              current_period_start: periodStart,
              current_period_end: periodEnd,
              discounts: [],
            },
          ],
        },
      });
      const quantity = (s: Json) =>
        ((s["items"] as { data: { quantity: number }[] }).data[0] as { quantity: number }).quantity;
      let current = subscription();
      emit("customer.subscription.created", started, current);

      const bill = (at: number) => {
        const amount = (priceOf(plan, currency, interval)["unit_amount"] as number) * quantity(current);
        const invoiceId = id("in");
        const failed = rnd.chance(0.08);
        const inv: Json = {
          id: invoiceId,
          object: "invoice",
          customer: customerId,
          currency: currency.code,
          amount_due: amount,
          amount_paid: failed ? 0 : amount,
          status: failed ? "open" : "paid",
          created: at,
          livemode: false,
          parent: {
            type: "subscription_details",
            subscription_details: { subscription: subscriptionId, metadata: {} },
          },
        };
        emit("invoice.finalized", at, { ...inv, status: "open", amount_paid: 0 });
        const c = charge(at + 60, amount, failed ? "failed" : "succeeded", invoiceId);
        if (failed) {
          emit("invoice.payment_failed", at + 61, inv);
          status = "past_due";
          current = subscription();
          emit("customer.subscription.updated", at + 62, current, { status: "active" });
          // Smart retries: usually recovered three days later.
          if (rnd.chance(0.7)) {
            const retry = charge(at + 3 * DAY, amount, "succeeded", invoiceId);
            emit("invoice.paid", at + 3 * DAY + 1, { ...inv, status: "paid", amount_paid: amount });
            status = "active";
            current = subscription();
            emit("customer.subscription.updated", at + 3 * DAY + 2, current, { status: "past_due" });
            aftermath(retry, at + 3 * DAY);
          } else {
            status = "canceled";
            current = subscription();
            emit("customer.subscription.deleted", at + 14 * DAY, current);
          }
        } else {
          emit("invoice.paid", at + 61, inv);
          aftermath(c, at + 60);
        }
      };

      if (trialDays === 0) bill(started);
      const changeAt = rnd.chance(0.15) ? started + rnd.int(20, 120) * DAY : Number.POSITIVE_INFINITY;
      const cancelAt = rnd.chance(0.2) ? started + rnd.int(10, 200) * DAY : Number.POSITIVE_INFINITY;
      while (periodEnd <= end && status !== "canceled") {
        if (cancelAtPeriodEnd) {
          status = "canceled";
          current = subscription();
          emit("customer.subscription.deleted", periodEnd, current);
          break;
        }
        if (status === "trialing") emit("customer.subscription.trial_will_end", periodEnd - 3 * DAY, current);
        const wasTrialing = status === "trialing";
        periodStart = periodEnd;
        periodEnd = periodStart + periodLength;
        if (wasTrialing) status = "active";
        current = subscription();
        emit("customer.subscription.updated", periodStart, current, wasTrialing ? { status: "trialing" } : {});
        bill(periodStart);
        if (changeAt <= periodStart && status === "active") {
          const from = plan;
          plan = rnd.pick(PLANS.filter((p) => p !== from));
          current = subscription();
          emit("customer.subscription.updated", periodStart + DAY, current, { items: { object: "list" } });
        }
        if (cancelAt <= periodStart && status === "active" && !cancelAtPeriodEnd) {
          cancelAtPeriodEnd = true;
          current = subscription();
          emit("customer.subscription.updated", periodStart + 2 * DAY, current, { cancel_at_period_end: false });
        }
      }
    } else {
      // An occasional buyer: a few one-off purchases.
      for (let k = rnd.int(1, 4); k > 0; k--) {
        const at = joined + rnd.int(0, Math.max(1, Math.floor((end - joined) / DAY))) * DAY;
        const amount = currency.code === "jpy" ? rnd.int(5, 200) * 100 : rnd.int(5, 300) * currency.scale;
        const c = charge(at, amount, rnd.chance(0.1) ? "failed" : "succeeded");
        if (c["status"] === "succeeded") aftermath(c, at);
      }
    }

    if (rnd.chance(0.03))
      emit("customer.deleted", end - rnd.int(1, 10) * DAY, { id: customerId, object: "customer", deleted: true });
    else if (rnd.chance(0.3)) {
      const changed = joined + rnd.int(1, options.days) * DAY;
      emit(
        "customer.updated",
        changed,
        { ...customer, email: `${first}.${last}.${n}@example.org`.toLowerCase() },
        {
          email: customer["email"],
        },
      );
    }
  }

  // Stripe's own order: by creation time; same-second events in the order they happened.
  return events.sort((a, b) => a.created - b.created);
}
