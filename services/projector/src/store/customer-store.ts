import type { ClientBase } from "pg";
import type { CustomerReadModel } from "../domain/index.ts";

/** The customer projection table: typed read-model columns, written in one multi-row upsert. */

export interface ProjectionWrite {
  readonly model: CustomerReadModel;
  /** Catalog entries (`kind:id`) the derivation looked up: when one changes, the row is derived again. */
  readonly catalogRefs: readonly string[];
}

/** Customers whose last derivation looked up one of `refs` (GIN index on catalog_refs). */
export async function customersReferencing(
  db: ClientBase,
  generation: number,
  refs: readonly string[],
): Promise<string[]> {
  if (refs.length === 0) return [];
  // Only the GIN index answers this well. Left alone, the planner estimated half the table for
  // any multi-element array (or, before the table had statistics, took the primary key for the
  // generation) and scanned 100k rows per batch (measured 60-130 ms; with the GIN index: 4-7 ms).
  // `generation + 0` keeps it off the primary key; `SET LOCAL` lasts until it is reset below, or
  // the transaction ends.
  await db.query("SET LOCAL enable_seqscan = off");
  const { rows } = await db.query<{ customer_id: string }>(
    "SELECT customer_id FROM customer_projection WHERE catalog_refs && $2::text[] AND generation + 0 = $1",
    [generation, refs],
  );
  await db.query("SET LOCAL enable_seqscan TO DEFAULT");
  return rows.map((r) => r.customer_id);
}

const COLUMNS = `customer_id text, email text, name text, phone text, currency text, created_at double precision,
  deleted boolean, metadata jsonb, payment_count integer, total_spent jsonb, average_order_value jsonb,
  last_payment_at double precision, failed_payment_count integer, refunded_total jsonb, dispute_count integer,
  mrr jsonb, subscription_status text, plan_name text, subscription_started_at double precision,
  trial_end double precision, cancel_at_period_end boolean, current_period_end double precision,
  churned boolean, last_event_at double precision, catalog_refs text[],
  balance jsonb, country text, city text, delinquent boolean, plan_names text[], coupon_name text`;

const READ_MODEL_COLUMNS = [
  "email",
  "name",
  "phone",
  "currency",
  "created_at",
  "deleted",
  "metadata",
  "payment_count",
  "total_spent",
  "average_order_value",
  "last_payment_at",
  "failed_payment_count",
  "refunded_total",
  "dispute_count",
  "mrr",
  "subscription_status",
  "plan_name",
  "subscription_started_at",
  "trial_end",
  "cancel_at_period_end",
  "current_period_end",
  "churned",
  "last_event_at",
  "catalog_refs",
  // Migration 0007 (issue #20).
  "balance",
  "country",
  "city",
  "delinquent",
  "plan_names",
  "coupon_name",
] as const;

const TIME_COLUMNS = new Set([
  "created_at",
  "last_payment_at",
  "subscription_started_at",
  "trial_end",
  "current_period_end",
  "last_event_at",
]);

const selectExpr = (c: string): string => (TIME_COLUMNS.has(c) ? `to_timestamp(x.${c})` : `x.${c}`);

/**
 * `IS DISTINCT FROM` keeps identical rows untouched: no dead tuples from replays, and
 * `change_xid` (the change feed's key, see migration 0002) moves only on a real change.
 */
const UPSERT = `INSERT INTO customer_projection (generation, customer_id, ${READ_MODEL_COLUMNS.join(", ")})
SELECT $1, x.customer_id, ${READ_MODEL_COLUMNS.map(selectExpr).join(", ")}
FROM jsonb_to_recordset($2::jsonb) AS x(${COLUMNS})
ON CONFLICT (generation, customer_id) DO UPDATE SET
  ${READ_MODEL_COLUMNS.map((c) => `${c} = EXCLUDED.${c}`).join(",\n  ")},
  updated_at = now(),
  change_xid = pg_current_xact_id()
WHERE (${READ_MODEL_COLUMNS.map((c) => `customer_projection.${c}`).join(", ")})
  IS DISTINCT FROM (${READ_MODEL_COLUMNS.map((c) => `EXCLUDED.${c}`).join(", ")})`;

const toRecord = ({ model: m, catalogRefs }: ProjectionWrite) => ({
  customer_id: m.customerId,
  email: m.email,
  name: m.name,
  phone: m.phone,
  currency: m.currency,
  created_at: m.createdAt,
  deleted: m.deleted,
  metadata: m.metadata,
  payment_count: m.paymentCount,
  total_spent: m.totalSpent,
  average_order_value: m.averageOrderValue,
  last_payment_at: m.lastPaymentAt,
  failed_payment_count: m.failedPaymentCount,
  refunded_total: m.refundedTotal,
  dispute_count: m.disputeCount,
  mrr: m.mrr,
  subscription_status: m.subscriptionStatus,
  plan_name: m.planName,
  subscription_started_at: m.subscriptionStartedAt,
  trial_end: m.trialEnd,
  cancel_at_period_end: m.cancelAtPeriodEnd,
  current_period_end: m.currentPeriodEnd,
  churned: m.churned,
  last_event_at: m.lastEventAt,
  catalog_refs: catalogRefs,
  balance: m.balance,
  country: m.country,
  city: m.city,
  delinquent: m.delinquent,
  plan_names: m.planNames,
  coupon_name: m.couponName,
});

export async function writeProjections(
  db: ClientBase,
  generation: number,
  writes: readonly ProjectionWrite[],
): Promise<void> {
  if (writes.length === 0) return;
  await db.query(UPSERT, [generation, JSON.stringify(writes.map(toRecord))]);
}

/**
 * Customers no fact names any more (a charge moved to another customer): the fold has no row for
 * them. A tombstone tells the change feed's readers; the view hides it while a row exists again.
 */
export async function deleteProjections(db: ClientBase, generation: number, customerIds: readonly string[]) {
  if (customerIds.length === 0) return;
  await db.query(
    `WITH gone AS (
       DELETE FROM customer_projection WHERE generation = $1 AND customer_id = ANY($2::text[]) RETURNING customer_id
     )
     INSERT INTO customer_projection_tombstone (generation, customer_id)
     SELECT $1, customer_id FROM gone
     ON CONFLICT (generation, customer_id) DO UPDATE SET change_xid = pg_current_xact_id()`,
    [generation, customerIds],
  );
}

export interface DeriveFailure {
  readonly customerId: string;
  readonly reason: string;
}

/**
 * `derive_failure` holds the customers whose last derivation threw; one that derives again leaves
 * it. Only touched when there is something to say: a batch without failures, whose customers had
 * none before, costs one indexed probe on an empty-or-small table.
 */
export async function recordDeriveOutcomes(
  db: ClientBase,
  generation: number,
  failed: readonly DeriveFailure[],
  derived: readonly string[],
): Promise<void> {
  if (failed.length > 0) {
    await db.query(
      `INSERT INTO derive_failure (generation, customer_id, reason)
       SELECT $1, x.customer_id, x.reason FROM jsonb_to_recordset($2::jsonb) AS x(customer_id text, reason text)
       ON CONFLICT (generation, customer_id) DO UPDATE SET reason = EXCLUDED.reason, failed_at = now()`,
      [generation, JSON.stringify(failed.map((f) => ({ customer_id: f.customerId, reason: f.reason })))],
    );
  }
  if (derived.length > 0) {
    await db.query("DELETE FROM derive_failure WHERE generation = $1 AND customer_id = ANY($2::text[])", [
      generation,
      derived,
    ]);
  }
}
