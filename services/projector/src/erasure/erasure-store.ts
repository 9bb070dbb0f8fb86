import type { ClientBase } from "pg";
import { lockGeneration } from "../store/positions.ts";
import { idDigest } from "./digest.ts";

type Db = Pick<ClientBase, "query">;

/** Customers whose facts or projection row (any generation) carry this email, case-insensitively. */
export async function customersWithEmail(db: Db, email: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM fact_customer WHERE lower(fact #>> '{winner,data,email}') = lower($1)
     UNION SELECT customer_id FROM customer_projection WHERE lower(email) = lower($1)`,
    [email],
  );
  return rows.map((r) => r.id).sort();
}

/**
 * The ids of every object of these customers, in every generation: charges, invoices,
 * subscriptions and discounts by customer, refunds and disputes by charge. Recorded (as digests)
 * with the erasure so that events naming only the object (a dispute is keyed by its own id, and
 * names a charge, not a customer) are recognised too.
 */
export async function objectIdsOf(db: Db, customerIds: readonly string[]): Promise<string[]> {
  if (customerIds.length === 0) return [];
  // `generation = ANY(all of them)` lets the (generation, customer_id/charge_id) indexes serve.
  const { rows } = await db.query<{ id: string }>(
    `WITH g AS (SELECT array_agg(generation) AS gs FROM projection_generation),
     charges AS (SELECT id FROM fact_charge, g WHERE generation = ANY(g.gs) AND customer_id = ANY($1::text[]))
     SELECT id FROM charges
     UNION SELECT id FROM fact_invoice, g WHERE generation = ANY(g.gs) AND customer_id = ANY($1::text[])
     UNION SELECT id FROM fact_subscription, g WHERE generation = ANY(g.gs) AND customer_id = ANY($1::text[])
     UNION SELECT id FROM fact_discount WHERE fact #>> '{winner,data,customer}' = ANY($1::text[])
     UNION SELECT id FROM fact_refund, g WHERE generation = ANY(g.gs) AND charge_id IN (SELECT id FROM charges)
     UNION SELECT id FROM fact_dispute, g WHERE generation = ANY(g.gs) AND charge_id IN (SELECT id FROM charges)`,
    [customerIds],
  );
  return rows.map((r) => r.id).sort();
}

export interface ErasureRecord {
  readonly erasureId: string;
  /** When an earlier request for the same customer was recorded (erase is idempotent). */
  readonly alreadyRequestedAt: Date | null;
}

/**
 * Records an erasure (or finds the earlier one for the same customer) and the digests of every id
 * and email it covers. In the caller's transaction.
 */
export async function recordErasure(
  db: Db,
  subject: { customerId: string; objectIds: readonly string[]; emails: readonly string[]; reason: string | null },
): Promise<ErasureRecord> {
  const subjectHash = idDigest(subject.customerId);
  const existing = await db.query<{ id: string; requested_at: Date }>(
    "SELECT id::text, requested_at FROM erasure_request WHERE subject_hash = $1 ORDER BY id LIMIT 1",
    [subjectHash],
  );
  let erasureId = existing.rows[0]?.id;
  if (erasureId === undefined) {
    const inserted = await db.query<{ id: string }>(
      "INSERT INTO erasure_request (subject_hash, reason) VALUES ($1, $2) RETURNING id::text",
      [subjectHash, subject.reason],
    );
    erasureId = inserted.rows[0]?.id as string;
  }
  const entries = [
    [subject.customerId, "customer"],
    ...subject.objectIds.map((id) => [id, "object"]),
    ...subject.emails.map((e) => [e.toLowerCase(), "email"]),
  ];
  await db.query(
    `INSERT INTO erased_id (id_hash, kind, erasure_id)
     SELECT h, k, $3 FROM unnest($1::text[], $2::text[]) AS t(h, k)
     ON CONFLICT (id_hash) DO NOTHING`,
    [entries.map(([id]) => idDigest(id as string)), entries.map(([, kind]) => kind), erasureId],
  );
  return { erasureId, alreadyRequestedAt: existing.rows[0]?.requested_at ?? null };
}

/** Whether this id (or email) is on the erasure list. */
export async function isErased(db: Db, id: string): Promise<boolean> {
  const { rows } = await db.query("SELECT 1 FROM erased_id WHERE id_hash = $1", [idDigest(id)]);
  return rows.length > 0;
}

export async function markErasure(db: Db, erasureId: string, step: "purged_at" | "brevo_deleted_at"): Promise<void> {
  await db.query(`UPDATE erasure_request SET ${step} = now() WHERE id = $1`, [erasureId]);
}

/**
 * Takes every generation's advisory lock, lowest first, in the caller's transaction: no batch or
 * bulk load commits in between (each takes one of these locks), so a purge sees a still world.
 */
export async function lockAllGenerations(db: ClientBase): Promise<number[]> {
  const { rows } = await db.query<{ generation: number }>(
    "SELECT generation FROM projection_generation ORDER BY generation",
  );
  for (const { generation } of rows) await lockGeneration(db, generation);
  return rows.map((r) => r.generation);
}
