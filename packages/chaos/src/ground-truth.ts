import type { StripeEventObject } from "@sbs/cli/demo/history";

/**
 * Oracle D's other side: what each customer of a demo history (packages/cli/src/demo/history.ts)
 * must come out as, computed from the generated events with the generator's own simple
 * structure, not with the projector's fold: one customer per `cus_`, charges that succeed or fail
 * once and may later be refunded (`charge.refunded` carries the refunded amount) or disputed,
 * at most one subscription per customer whose latest snapshot (by `created`, ties in the order
 * generated) is its state, licensed per-unit prices without discounts. Money in minor units
 * per currency, zero amounts left out (the fold writes `{usd: 0}` for a fully refunded payer).
 */
export interface CustomerTruth {
  readonly customerId: string;
  readonly deleted: boolean;
  readonly paymentCount: number;
  readonly totalSpent: Readonly<Record<string, number>>;
  readonly mrr: Readonly<Record<string, number>>;
  readonly subscriptionStatus: string | null;
}

type Json = Record<string, unknown>;

interface Working {
  deleted: boolean;
  charges: Map<string, { amount: number; currency: string; refunded: number }>;
  lostDisputes: { amount: number; currency: string }[];
  subscription: { created: number; order: number; object: Json } | undefined;
}

/** Stripe's MRR rule for this generator: active or past_due, not cancelling, yearly ÷ 12, rounded half up. */
function monthly(subscription: Json): Record<string, number> {
  const status = subscription["status"];
  if ((status !== "active" && status !== "past_due") || subscription["cancel_at_period_end"] === true) return {};
  const items = (subscription["items"] as { data: Json[] }).data;
  let total = 0;
  for (const item of items) {
    const price = item["price"] as Json;
    const recurring = price["recurring"] as Json;
    const perInterval = (price["unit_amount"] as number) * (item["quantity"] as number);
    total += recurring["interval"] === "year" ? perInterval / 12 : perInterval;
  }
  // Amounts are positive: half away from zero is Math.round's half up.
  return { [subscription["currency"] as string]: Math.round(total) };
}

export function groundTruth(events: readonly StripeEventObject[]): Map<string, CustomerTruth> {
  const customers = new Map<string, Working>();
  const of = (id: string): Working => {
    let w = customers.get(id);
    if (!w) {
      w = { deleted: false, charges: new Map(), lostDisputes: [], subscription: undefined };
      customers.set(id, w);
    }
    return w;
  };
  const chargeOwner = new Map<string, string>();
  events.forEach((event, order) => {
    const o = event.data.object;
    switch (event.type) {
      case "customer.created":
      case "customer.updated":
        of(o["id"] as string);
        break;
      case "customer.deleted":
        of(o["id"] as string).deleted = true;
        break;
      case "charge.succeeded": {
        const customer = o["customer"] as string;
        chargeOwner.set(o["id"] as string, customer);
        of(customer).charges.set(o["id"] as string, {
          amount: o["amount"] as number,
          currency: o["currency"] as string,
          refunded: 0,
        });
        break;
      }
      case "charge.refunded": {
        const charge = of(o["customer"] as string).charges.get(o["id"] as string);
        if (charge) charge.refunded = Math.max(charge.refunded, o["amount_refunded"] as number);
        break;
      }
      case "charge.dispute.closed": {
        const owner = chargeOwner.get(o["charge"] as string);
        if (owner && o["status"] === "lost")
          of(owner).lostDisputes.push({ amount: o["amount"] as number, currency: o["currency"] as string });
        break;
      }
      default:
        if (event.type.startsWith("customer.subscription.")) {
          const w = of(o["customer"] as string);
          const created = event.created;
          const current = w.subscription;
          if (!current || created > current.created || (created === current.created && order > current.order))
            w.subscription = { created, order, object: o };
        }
    }
  });

  const out = new Map<string, CustomerTruth>();
  for (const [customerId, w] of customers) {
    const spent: Record<string, number> = {};
    for (const c of w.charges.values()) spent[c.currency] = (spent[c.currency] ?? 0) + c.amount - c.refunded;
    for (const d of w.lostDisputes) spent[d.currency] = (spent[d.currency] ?? 0) - d.amount;
    out.set(customerId, {
      customerId,
      deleted: w.deleted,
      paymentCount: w.charges.size,
      totalSpent: withoutZeros(spent),
      mrr: w.subscription ? monthly(w.subscription.object) : {},
      subscriptionStatus: w.subscription ? (w.subscription.object["status"] as string) : null,
    });
  }
  return out;
}

export function withoutZeros(money: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(money)
      .filter(([, v]) => v !== 0)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
