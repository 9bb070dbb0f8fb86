import { compareStrings } from "./canonical-json.ts";
import type { MrrPoint } from "./mrr-history.ts";

/**
 * Monthly MRR and its movements (rules published in the projector README, "MRR history").
 *
 * A month's MRR is the MRR at its end (the last second of the month, UTC). Each month is compared
 * with the one before, per currency:
 *   new          0 → > 0, the first month the customer ever had MRR in that currency
 *   reactivation 0 → > 0, after an earlier month > 0
 *   expansion    up, both > 0
 *   contraction  down, both > 0
 *   churn        > 0 → 0
 *   null         unchanged
 * Rows exist for the months with MRR > 0 and for each churn month (MRR 0); months at 0 between a
 * churn and a reactivation have none.
 */

export type Movement = "new" | "expansion" | "contraction" | "churn" | "reactivation";

export interface MonthlyMrrRow {
  readonly customer_id: string;
  readonly currency: string;
  /** First day of the month, `YYYY-MM-01`. */
  readonly month: string;
  /** MRR at the month's end, minor units. */
  readonly mrr: number;
  readonly previous_mrr: number;
  readonly movement: Movement | null;
  /** mrr − previous_mrr. */
  readonly change: number;
  /** Subscriptions counting toward MRR at the month's end. */
  readonly subscriptions: number;
}

/** Month index (years × 12 + month, 0-based) of a unix time, UTC. */
export const monthIndexOf = (unixSeconds: number): number => {
  const d = new Date(unixSeconds * 1000);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};

/** Unix seconds at which month `index` starts (UTC). */
export const monthStart = (index: number): number => Date.UTC(Math.floor(index / 12), index % 12, 1) / 1000;

export const monthLabel = (index: number): string =>
  `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}-01`;

/** `YYYY-MM` or `YYYY-MM-DD` → month index; null when malformed. */
export const parseMonth = (text: string): number | null => {
  const m = /^(\d{4})-(\d{2})(?:-\d{2})?$/.exec(text);
  if (!m) return null;
  const month = Number(m[2]);
  if (month < 1 || month > 12) return null;
  return Number(m[1]) * 12 + month - 1;
};

export const classifyMovement = (previous: number, current: number, paidBefore: boolean): Movement | null => {
  if (previous === current) return null;
  if (previous === 0) return paidBefore ? "reactivation" : "new";
  if (current === 0) return "churn";
  return current > previous ? "expansion" : "contraction";
};

/**
 * The monthly rows of one customer, oldest first, per currency, from its first month with MRR
 * through `until` (a month index; default: the month of the last change point, so rows stop
 * where the facts do and readers carry the last MRR forward).
 */
export const monthlyMrr = (customerId: string, points: readonly MrrPoint[], until?: number): MonthlyMrrRow[] => {
  const last = points[points.length - 1];
  if (last === undefined) return [];
  const first = monthIndexOf((points[0] as MrrPoint).at);
  const end = Math.max(until ?? monthIndexOf(last.at), first);
  const currencies = new Set<string>();
  for (const p of points) for (const c of Object.keys(p.mrr)) currencies.add(c);
  const previous = new Map<string, number>();
  const paid = new Set<string>();
  const rows: MonthlyMrrRow[] = [];
  let next = 0;
  let holding: MrrPoint | undefined;
  for (let month = first; month <= end; month++) {
    const boundary = monthStart(month + 1);
    // The point holding at the month's last second.
    while (next < points.length && (points[next] as MrrPoint).at < boundary) holding = points[next++];
    for (const currency of [...currencies].sort(compareStrings)) {
      const mrr = holding?.mrr[currency] ?? 0;
      const before = previous.get(currency) ?? 0;
      if (mrr === 0 && before === 0) continue;
      rows.push({
        customer_id: customerId,
        currency,
        month: monthLabel(month),
        mrr,
        previous_mrr: before,
        movement: classifyMovement(before, mrr, paid.has(currency)),
        change: mrr - before,
        subscriptions: holding?.subscriptions[currency] ?? 0,
      });
      previous.set(currency, mrr);
      if (mrr > 0) paid.add(currency);
    }
  }
  return rows;
};

/** Time of the first point with MRR > 0 (the customer's first paid instant), or null. */
export const firstPaidAt = (points: readonly MrrPoint[]): number | null =>
  points.find((p) => Object.keys(p.mrr).length > 0)?.at ?? null;

export interface LastMovements {
  /** Per currency: the class of the latest month that moved. */
  readonly movement: Readonly<Record<string, Movement>>;
  /** Per currency: that month's change, minor units. */
  readonly change: Readonly<Record<string, number>>;
}

/** The latest movement per currency of one customer's rows (what the sink's MRR_LAST_MOVEMENT shows). */
export const lastMovements = (rows: readonly MonthlyMrrRow[]): LastMovements => {
  const movement: Record<string, Movement> = {};
  const change: Record<string, number> = {};
  for (const row of [...rows].sort((a, b) => compareStrings(a.month, b.month))) {
    if (row.movement === null) continue;
    movement[row.currency] = row.movement;
    change[row.currency] = row.change;
  }
  return { movement, change };
};
