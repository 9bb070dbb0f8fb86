import { compareStrings } from "./canonical-json.ts";
import type { Fact } from "./facts.ts";
import type { Money } from "./money.ts";
import { countsTowardMrr, type MrrCatalog, type MrrRules, subscriptionMrr } from "./mrr.ts";
import { add, type Ratio, roundHalfAwayFromZero, ZERO } from "./ratio.ts";
import type { CustomerSnapshot, SubscriptionSnapshot } from "./snapshots.ts";
import { compareSubscriptionVersions, type SubscriptionVersions } from "./subscription-history.ts";

/**
 * A customer's MRR over time, from the snapshot sets of its subscriptions.
 *
 * The MRR of one subscription at an instant t is today's rule (`subscriptionMrr`) applied to the
 * snapshot that wins among those dated at or before t, with the fact's own tie-break. So a
 * canceled or ended subscription counts 0 from the time of the snapshot that shows it so, a
 * trial counts 0 until the snapshot showing it active, metered items never count, and once every
 * snapshot is in, the last point equals the read model's `mrr`. Prices, coupons, discounts and
 * the customer (its discount) are looked up as known now: the catalog keeps one state per object.
 */

/** The customer's MRR from `at` on, until the next point. */
export interface MrrPoint {
  /** Unix seconds. */
  readonly at: number;
  /** Per currency, minor units, rounded once per currency as `mrr` is. Only currencies > 0. */
  readonly mrr: Money;
  /** Subscriptions counting toward MRR (in each currency of `mrr`). */
  readonly subscriptions: Readonly<Record<string, number>>;
}

type Value = { readonly currency: string; readonly amount: Ratio } | null;

interface Step {
  readonly at: number;
  readonly value: Value;
}

/** One subscription's MRR as a step function: the value from each snapshot time on. */
export const subscriptionSteps = (
  versions: SubscriptionVersions,
  customer: CustomerSnapshot | null,
  rules: MrrRules,
  catalog: MrrCatalog,
): Step[] => {
  const sorted = [...versions].sort((a, b) => a.at - b.at);
  const steps: Step[] = [];
  let winner = sorted[0];
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i] as (typeof sorted)[number];
    if (winner === undefined || compareSubscriptionVersions(v, winner) > 0) winner = v;
    // Only after every snapshot of that second: the winner of the second is what holds from it on.
    if (i + 1 < sorted.length && (sorted[i + 1] as typeof v).at === v.at) continue;
    const fact: Fact<SubscriptionSnapshot> = { winner, lastEventAt: v.at };
    const counted = countsTowardMrr(winner.data, winner.deleted, rules);
    steps.push({ at: v.at, value: counted ? subscriptionMrr(fact, customer, rules, catalog) : null });
  }
  return steps;
};

const sameValue = (a: MrrPoint | undefined, mrr: Money, subs: Record<string, number>): boolean => {
  if (a === undefined) return false;
  const keys = Object.keys(mrr);
  if (keys.length !== Object.keys(a.mrr).length) return false;
  return keys.every((k) => a.mrr[k] === mrr[k] && a.subscriptions[k] === subs[k]);
};

/**
 * The customer's MRR change points, oldest first: each point holds until the next one. Points
 * that change nothing (a snapshot that keeps the amount) are left out.
 */
export const customerMrrHistory = (
  subscriptions: readonly SubscriptionVersions[],
  customer: CustomerSnapshot | null,
  rules: MrrRules,
  catalog: MrrCatalog,
): MrrPoint[] => {
  const events: { at: number; index: number; value: Value }[] = [];
  subscriptions.forEach((versions, index) => {
    for (const step of subscriptionSteps(versions, customer, rules, catalog)) events.push({ ...step, index });
  });
  events.sort((a, b) => a.at - b.at);
  const current: Value[] = subscriptions.map(() => null);
  const points: MrrPoint[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as (typeof events)[number];
    current[e.index] = e.value;
    if (i + 1 < events.length && (events[i + 1] as typeof e).at === e.at) continue;
    const sums = new Map<string, Ratio>();
    const counts: Record<string, number> = {};
    for (const value of current) {
      if (value === null) continue;
      sums.set(value.currency, add(sums.get(value.currency) ?? ZERO, value.amount));
      counts[value.currency] = (counts[value.currency] ?? 0) + 1;
    }
    const mrr: Record<string, number> = {};
    const subs: Record<string, number> = {};
    for (const currency of [...sums.keys()].sort(compareStrings)) {
      const amount = roundHalfAwayFromZero(sums.get(currency) ?? ZERO);
      // A counted subscription worth 0 (a 100 % coupon) is no paying subscriber.
      if (amount <= 0) continue;
      mrr[currency] = amount;
      subs[currency] = counts[currency] ?? 0;
    }
    if (sameValue(points[points.length - 1], mrr, subs)) continue;
    if (points.length === 0 && Object.keys(mrr).length === 0) continue;
    points.push({ at: e.at, mrr, subscriptions: subs });
  }
  return points;
};

/** MRR at an instant (unix seconds): the last point at or before it. */
export const mrrAt = (points: readonly MrrPoint[], at: number): Money => {
  let found: Money = {};
  for (const p of points) {
    if (p.at > at) break;
    found = p.mrr;
  }
  return found;
};
