import type { Pool } from "@sbs/shared";
import type { CustomerReadModel } from "../domain/read-model.ts";
import { cursorAt, cursorParams, PAST_CURSOR } from "./change-feed.ts";
import type { ProjectionSource } from "./projection-source.ts";

/**
 * THIN ADAPTER over the projector's views. Everything this sink assumes about them is in this file:
 *   - `customer_metrics`: one row per customer of the live generation, read-model columns in
 *     snake_case (toReadModelRow's names); times as timestamptz, ISO text or unix seconds; money as
 *     jsonb {currency: minor units};
 *   - `customer_changes`: the same rows plus tombstones (`removed`), each with its `generation` and
 *     `change_xid`, the id of the transaction that last changed it (the projector's migration 0002).
 * Changes are read in (change_xid, customer_id) order, and only below the snapshot's xmin: every
 * transaction with a smaller id has ended, and any that commits later gets a larger one, so the
 * cursor never passes a change, however long its transaction took (a timestamp taken at
 * transaction start did). A long transaction anywhere on the server holds the horizon back: the
 * sink then waits, it does not skip.
 * The cursor is `g<generation>:<xid>|<customer_id>`. A cursor of another generation (a rebuild
 * switched) or of the earlier timestamp format starts over from the beginning: every row is read
 * again and diffs to nothing where Brevo already agrees.
 *   - `customer_mrr_summary` (the projector's migration 0006), only with `history`: per customer,
 *     first_paid_at, last_movement and last_change (jsonb per currency), attached as `mrrHistory`.
 * `schema`: where the projector's views live when they are not on the sink's search_path.
 */
const changedSince = (relation: string) => `
  SELECT c.*, c.change_xid::text AS sink_change_xid
  FROM ${relation} c
  WHERE ${PAST_CURSOR}
    AND c.change_xid < pg_snapshot_xmin(pg_current_snapshot())
  ORDER BY c.change_xid, c.customer_id
  LIMIT $4`;
const byIds = (relation: string) => `SELECT * FROM ${relation} WHERE customer_id = ANY($1)`;

type Row = Record<string, unknown>;

export function createPgProjectionSource(
  pool: Pool,
  options: { schema?: string | undefined; history?: boolean } = {},
): ProjectionSource {
  const qualified = (name: string) =>
    options.schema === undefined ? name : `"${options.schema.replaceAll('"', '""')}".${name}`;
  const CHANGED_SINCE = changedSince(qualified("customer_changes"));
  const BY_IDS = byIds(qualified("customer_metrics"));
  const SUMMARIES = byIds(qualified("customer_mrr_summary"));
  /** Attaches the MRR history summary to the live rows, in one query per page. */
  const withHistory = async (models: CustomerReadModel[]): Promise<CustomerReadModel[]> => {
    if (!options.history || models.length === 0) return models;
    const { rows } = await pool.query<Row>(SUMMARIES, [models.map((m) => m.customerId)]);
    const byId = new Map(rows.map((r) => [String(r["customer_id"]), r]));
    return models.map((m) => {
      const r = byId.get(m.customerId);
      if (r === undefined) return m;
      const movement: Record<string, string> = {};
      const moved = r["last_movement"];
      if (moved && typeof moved === "object")
        for (const [k, v] of Object.entries(moved)) movement[k.toLowerCase()] = String(v);
      return {
        ...m,
        mrrHistory: {
          firstPaidAt: seconds(r["first_paid_at"]),
          lastMovement: movement,
          lastChange: money(r["last_change"]),
        },
      };
    });
  };
  return {
    async changedSince(cursor, limit) {
      const { rows } = await pool.query<Row>(CHANGED_SINCE, [...cursorParams(cursor), limit]);
      // The view shows one generation (the live one); a cursor of another one matched every row.
      const last = rows[rows.length - 1];
      return {
        rows: await withHistory(rows.map(fromRow)),
        cursor:
          last === undefined ? cursor : cursorAt(last["generation"], last["sink_change_xid"], last["customer_id"]),
      };
    },
    async byIds(ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<Row>(BY_IDS, [ids]);
      return withHistory(rows.map(fromRow));
    },
    /** The live generation, next to customer_metrics (same schema); undefined without one. */
    async generation() {
      const pointer = qualified("projection_pointer");
      try {
        const { rows } = await pool.query<{ generation: unknown }>(`SELECT generation FROM ${pointer}`);
        return rows[0] === undefined ? undefined : String(rows[0].generation);
      } catch (error) {
        if ((error as { code?: string }).code === "42P01") return undefined; // no such table
        throw error;
      }
    },
  };
}

const seconds = (v: unknown): number | null => {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  if (typeof v === "number") return v;
  const n = Number(v);
  if (Number.isFinite(n)) return n;
  const ms = Date.parse(String(v));
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
};
const money = (v: unknown): Record<string, number> => {
  const o = typeof v === "string" ? (JSON.parse(v) as unknown) : v;
  const out: Record<string, number> = {};
  if (o && typeof o === "object") for (const [k, n] of Object.entries(o)) out[k.toLowerCase()] = Number(n);
  return out;
};
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const int = (v: unknown): number => Number(v ?? 0);

export function fromRow(r: Row): CustomerReadModel {
  return {
    customerId: String(r["customer_id"]),
    email: text(r["email"]),
    name: text(r["name"]),
    phone: text(r["phone"]),
    currency: text(r["currency"]),
    createdAt: seconds(r["created_at"]),
    deleted: r["deleted"] === true,
    metadata: (r["metadata"] ?? {}) as Record<string, string>,
    paymentCount: int(r["payment_count"]),
    totalSpent: money(r["total_spent"]),
    averageOrderValue: money(r["average_order_value"]),
    lastPaymentAt: seconds(r["last_payment_at"]),
    failedPaymentCount: int(r["failed_payment_count"]),
    refundedTotal: money(r["refunded_total"]),
    disputeCount: int(r["dispute_count"]),
    mrr: money(r["mrr"]),
    subscriptionStatus: text(r["subscription_status"]),
    planName: text(r["plan_name"]),
    subscriptionStartedAt: seconds(r["subscription_started_at"]),
    trialEnd: seconds(r["trial_end"]),
    cancelAtPeriodEnd:
      r["cancel_at_period_end"] === null || r["cancel_at_period_end"] === undefined
        ? null
        : r["cancel_at_period_end"] === true,
    currentPeriodEnd: seconds(r["current_period_end"]),
    churned: r["churned"] === true,
    // Migration 0007 of the projector (issue #20); absent on a view without them.
    balance: money(r["balance"]),
    country: text(r["country"]),
    city: text(r["city"]),
    delinquent: r["delinquent"] === null || r["delinquent"] === undefined ? null : r["delinquent"] === true,
    planNames: Array.isArray(r["plan_names"]) ? r["plan_names"].map(String) : [],
    couponName: text(r["coupon_name"]),
    lastEventAt: seconds(r["last_event_at"]),
  };
}
