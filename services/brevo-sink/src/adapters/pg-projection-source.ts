import type { Pool } from "@sbs/shared";
import type { CustomerReadModel } from "../domain/read-model.ts";
import type { ProjectionSource } from "./projection-source.ts";

/**
 * THIN ADAPTER over the projector's `customer_metrics` view. The projector owns that SQL and is
 * being built alongside; everything this sink assumes about it is in this file:
 *   - one row per customer with the read-model columns in snake_case (toReadModelRow's names);
 *   - times as timestamptz, ISO text or unix seconds; money as jsonb {currency: minor units};
 *   - a change column `updated_at` (timestamptz) bumped by every write, rebuilds included.
 * The cursor is `<updated_at ISO>|<customer_id>`, a keyset so rows sharing a timestamp are not skipped.
 * updated_at is stamped before commit, so a slow transaction can commit a stamp older than rows
 * already read: each pass re-reads REWIND_SECONDS before its cursor.
 * `schema`: where the projector's view lives when it is not on the sink's search_path (the sink's
 * tables in a schema of their own).
 */
const REWIND_SECONDS = 30;
const changedSince = (relation: string) => `
  SELECT *, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS sink_cursor_at
  FROM ${relation}
  WHERE ($1::timestamptz IS NULL OR (updated_at, customer_id) > ($1::timestamptz, $2::text))
  ORDER BY updated_at, customer_id
  LIMIT $3`;
const byIds = (relation: string) => `SELECT * FROM ${relation} WHERE customer_id = ANY($1)`;

type Row = Record<string, unknown>;

export function createPgProjectionSource(pool: Pool, options: { schema?: string | undefined } = {}): ProjectionSource {
  const relation =
    options.schema === undefined ? "customer_metrics" : `"${options.schema.replaceAll('"', '""')}".customer_metrics`;
  const CHANGED_SINCE = changedSince(relation);
  const BY_IDS = byIds(relation);
  return {
    async changedSince(cursor, limit) {
      const [at, id] = cursor === undefined ? [null, ""] : splitCursor(cursor);
      const { rows } = await pool.query<Row>(CHANGED_SINCE, [at, id, limit]);
      const last = rows[rows.length - 1];
      return {
        rows: rows.map(fromRow),
        cursor: last === undefined ? cursor : `${String(last["sink_cursor_at"])}|${String(last["customer_id"])}`,
      };
    },
    rewind(cursor) {
      const [at] = splitCursor(cursor);
      const ms = Date.parse(at);
      return Number.isFinite(ms) ? `${new Date(ms - REWIND_SECONDS * 1000).toISOString()}|` : cursor;
    },
    async byIds(ids) {
      if (ids.length === 0) return [];
      const { rows } = await pool.query<Row>(BY_IDS, [ids]);
      return rows.map(fromRow);
    },
    // issue-11: the live generation, next to customer_metrics (same schema); undefined without one.
    async generation() {
      const pointer =
        options.schema === undefined
          ? "projection_pointer"
          : `"${options.schema.replaceAll('"', '""')}".projection_pointer`;
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

function splitCursor(cursor: string): [string, string] {
  const bar = cursor.indexOf("|");
  return [cursor.slice(0, bar), cursor.slice(bar + 1)];
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
    lastEventAt: seconds(r["last_event_at"]),
  };
}
