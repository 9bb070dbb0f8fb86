import type { Pool } from "@sbs/shared";
import type { ContactState } from "../domain/contact-state.ts";
import type { AttributeValue } from "../domain/fields.ts";
import type { EventStatus, SinkState } from "./sink-state.ts";

/** SinkState in the sink's own Postgres tables (migrations/0001_brevo_sink_state.sql). */
export function createPgSinkState(pool: Pool): SinkState {
  return {
    async loadPushed(extIds) {
      const out = new Map<string, ContactState>();
      if (extIds.length === 0) return out;
      const { rows } = await pool.query<{
        ext_id: string;
        email: string | null;
        attributes: Record<string, AttributeValue | null>;
        lists: number[];
        deleted: boolean;
      }>("SELECT ext_id, email, attributes, lists, deleted FROM brevo_contact_state WHERE ext_id = ANY($1)", [extIds]);
      for (const r of rows) {
        out.set(r.ext_id, {
          extId: r.ext_id,
          email: r.email,
          attributes: r.attributes,
          lists: r.lists,
          deleted: r.deleted,
        });
      }
      return out;
    },
    async savePushed(states) {
      if (states.length === 0) return;
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(
          `INSERT INTO brevo_contact_state (ext_id, email, attributes, lists, deleted, pushed_at)
           SELECT s.ext_id, s.email, s.attributes, ARRAY(SELECT jsonb_array_elements_text(s.lists)::int), s.deleted, now()
           FROM jsonb_to_recordset($1::jsonb) AS s(ext_id text, email text, attributes jsonb, lists jsonb, deleted boolean)
           ON CONFLICT (ext_id) DO UPDATE SET email = EXCLUDED.email, attributes = EXCLUDED.attributes,
             lists = EXCLUDED.lists, deleted = EXCLUDED.deleted, pushed_at = now()`,
          [
            JSON.stringify(
              states.map((s) => ({
                ext_id: s.extId,
                email: s.email,
                attributes: s.attributes,
                lists: s.lists,
                deleted: s.deleted,
              })),
            ),
          ],
        );
        await client.query("DELETE FROM brevo_sync_failures WHERE ext_id = ANY($1)", [states.map((s) => s.extId)]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async recordFailures(failures) {
      if (failures.length === 0) return;
      await pool.query(
        `INSERT INTO brevo_sync_failures (ext_id, code, reason)
         SELECT f.ext_id, f.code, f.reason FROM jsonb_to_recordset($1::jsonb) AS f(ext_id text, code text, reason text)
         ON CONFLICT (ext_id) DO UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason,
           attempts = brevo_sync_failures.attempts + 1, last_failed_at = now()`,
        [JSON.stringify(failures.map((f) => ({ ext_id: f.extId, code: f.code, reason: f.reason })))],
      );
    },
    async failedExtIds(limit) {
      const { rows } = await pool.query<{ ext_id: string }>(
        "SELECT ext_id FROM brevo_sync_failures ORDER BY last_failed_at LIMIT $1",
        [limit],
      );
      return rows.map((r) => r.ext_id);
    },
    async getCursor(name) {
      const { rows } = await pool.query<{ value: string }>("SELECT value FROM brevo_sink_cursors WHERE name = $1", [
        name,
      ]);
      return rows[0]?.value;
    },
    async setCursor(name, value) {
      await pool.query(
        `INSERT INTO brevo_sink_cursors (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
        [name, value],
      );
    },
    async claimEvent({ eventId, customerId, eventName }) {
      const { rowCount } = await pool.query(
        `INSERT INTO brevo_event_ledger (stripe_event_id, customer_id, event_name, status)
         VALUES ($1, $2, $3, 'sending') ON CONFLICT (stripe_event_id) DO NOTHING`,
        [eventId, customerId, eventName],
      );
      return rowCount === 1;
    },
    async settleEvent(eventId, status, detail) {
      await pool.query(
        "UPDATE brevo_event_ledger SET status = $2, detail = $3, settled_at = now() WHERE stripe_event_id = $1",
        [eventId, status, detail ?? null],
      );
    },
    async releaseEvent(eventId) {
      await pool.query("DELETE FROM brevo_event_ledger WHERE stripe_event_id = $1 AND status = 'sending'", [eventId]);
    },
    async eventCounts() {
      const { rows } = await pool.query<{ status: EventStatus; n: string }>(
        "SELECT status, count(*) AS n FROM brevo_event_ledger GROUP BY status",
      );
      const counts: Record<EventStatus, number> = { sending: 0, sent: 0, uncertain: 0, failed: 0 };
      for (const r of rows) counts[r.status] = Number(r.n);
      return counts;
    },
  };
}
