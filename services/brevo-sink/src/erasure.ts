import { inTransaction, type Pool } from "@sbs/shared";
import { cursorAt, cursorParams } from "./adapters/change-feed.ts";
import { guestKey } from "./domain/guest.ts";

/**
 * The id the sink's tables give a guest (a checkout without Stripe customer, issue #20): a hash
 * of the email, so `erase <email>` reaches their event-ledger rows without the email stored.
 */
export const guestIdOf = (email: string): string => guestKey(email);

/**
 * What the sink keeps about a person, for `pnpm cli erase`: the last pushed state (email and
 * attributes), parked failures, in-flight marks, custom-event ledger entries, and the change-feed cursor when its
 * last row was theirs. The Brevo contact itself is deleted through the transport (with its rate
 * limits and retries) before this runs.
 */
export interface SinkForgetCount {
  readonly table: string;
  readonly rows: number;
}

export async function forgetContacts(pool: Pool, customerIds: readonly string[]): Promise<SinkForgetCount[]> {
  if (customerIds.length === 0) return [];
  return inTransaction(pool, async (client) => {
    const counts: SinkForgetCount[] = [];
    for (const [table, column] of [
      ["brevo_contact_state", "ext_id"],
      ["brevo_sync_failures", "ext_id"],
      ["brevo_contact_in_flight", "ext_id"],
      ["brevo_event_ledger", "customer_id"],
    ] as const) {
      const r = await client.query(`DELETE FROM ${table} WHERE ${column} = ANY($1::text[])`, [customerIds]);
      counts.push({ table, rows: r.rowCount ?? 0 });
    }
    // A cursor names the last row read: when that was an erased customer, keep the position without
    // the id (an empty id sorts first, so at most that transaction's rows are read again and diff
    // to nothing).
    const { rows } = await client.query<{ name: string; value: string }>(
      "SELECT name, value FROM brevo_sink_cursors FOR UPDATE",
    );
    let cursors = 0;
    for (const row of rows) {
      const [generation, xid, customerId] = cursorParams(row.value);
      if (generation === null || !customerIds.includes(customerId)) continue;
      await client.query("UPDATE brevo_sink_cursors SET value = $2, updated_at = now() WHERE name = $1", [
        row.name,
        cursorAt(generation, xid, ""),
      ]);
      cursors++;
    }
    counts.push({ table: "brevo_sink_cursors", rows: cursors });
    return counts;
  });
}

/** Customer ids the sink pushed with this email (case-insensitive): how `erase <email>` finds them. */
export async function customersWithEmail(pool: Pool, email: string): Promise<string[]> {
  const { rows } = await pool.query<{ ext_id: string }>(
    "SELECT ext_id FROM brevo_contact_state WHERE lower(email) = lower($1)",
    [email],
  );
  return rows.map((r) => r.ext_id);
}
