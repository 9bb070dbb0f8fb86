import { inTransaction, type Pool, type PoolClient } from "@sbs/shared";
import type { ContactState } from "../domain/contact-state.ts";
import type { AttributeValue } from "../domain/fields.ts";
import { PARK_AFTER, retryDelayMs } from "../domain/parking.ts";
import { CONTACTS_LEASE, type EventStatus, FencedError, type SinkState } from "./sink-state.ts";

/** SinkState in the sink's own Postgres tables (migrations/0001_brevo_sink_state.sql, 0002_…, 0004_contacts_in_flight.sql). */
export function createPgSinkState(pool: Pool): SinkState {
  /**
   * Inside a write transaction: the lease row under FOR SHARE, so taking the lead (an UPDATE of that
   * row) waits for this transaction, and this transaction sees any bump committed before it.
   */
  const checkFence = async (client: PoolClient, fence: number | undefined) => {
    if (fence === undefined) return;
    const { rows } = await client.query<{ epoch: string }>(
      "SELECT epoch FROM brevo_sink_lease WHERE name = $1 FOR SHARE",
      [CONTACTS_LEASE],
    );
    const current = rows[0] === undefined ? undefined : Number(rows[0].epoch);
    if (current !== fence) throw new FencedError(fence, current);
  };
  const transaction = (fence: number | undefined, work: (client: PoolClient) => Promise<void>) =>
    inTransaction(pool, async (client) => {
      await checkFence(client, fence);
      await work(client);
    });

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
    async savePushed(states, fence, repaired = []) {
      if (states.length === 0) return;
      await transaction(fence, async (client) => {
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
        const ids = states.map((s) => s.extId);
        await client.query(
          "DELETE FROM brevo_sync_failures WHERE ext_id = ANY($1) AND (code <> 'fenced' OR ext_id = ANY($2))",
          [ids, repaired],
        );
        await client.query("DELETE FROM brevo_contact_in_flight WHERE ext_id = ANY($1)", [ids]);
      });
    },
    async recordFailures(failures, fence) {
      if (failures.length === 0) return;
      await transaction(fence, async (client) => {
        // The backoff is computed in SQL from the new attempt count, with parking.ts's rule and
        // figures: below PARK_AFTER ($4) attempts no wait; then $2 ms doubling per attempt, capped at $3 ms.
        await client.query(
          `INSERT INTO brevo_sync_failures AS f (ext_id, code, reason, attempts, next_attempt_at)
           SELECT n.ext_id, n.code, n.reason, 1, now() FROM jsonb_to_recordset($1::jsonb) AS n(ext_id text, code text, reason text)
           ON CONFLICT (ext_id) DO UPDATE SET code = EXCLUDED.code, reason = EXCLUDED.reason,
             attempts = f.attempts + 1, last_failed_at = now(),
             next_attempt_at = now() + CASE WHEN f.attempts + 1 < $4::int THEN interval '0'
               ELSE least($3::float8, $2::float8 * power(2, f.attempts + 1 - $4::int)) * interval '1 millisecond' END`,
          [
            JSON.stringify(failures.map((f) => ({ ext_id: f.extId, code: f.code, reason: f.reason }))),
            retryDelayMs(PARK_AFTER),
            retryDelayMs(1000),
            PARK_AFTER,
          ],
        );
      });
    },
    async failedExtIds(limit) {
      const { rows } = await pool.query<{ ext_id: string; repair: boolean }>(
        `SELECT ext_id, repair FROM (
           SELECT ext_id, code = 'fenced' AS repair, last_failed_at AS since FROM brevo_sync_failures
           WHERE next_attempt_at <= now()
           UNION ALL
           -- Left by a pass that died mid-write; a parked contact waits for its failure's retry.
           SELECT m.ext_id, false, m.since FROM brevo_contact_in_flight m
           WHERE NOT EXISTS (SELECT 1 FROM brevo_sync_failures f WHERE f.ext_id = m.ext_id)
         ) due ORDER BY since LIMIT $1`,
        [limit],
      );
      return rows.map((r) => ({ extId: r.ext_id, repair: r.repair }));
    },
    async markInFlight(extIds, fence) {
      if (extIds.length === 0) return;
      await transaction(fence, async (client) => {
        // The first mark's time stays: it is the retry order after a crash.
        await client.query(
          `INSERT INTO brevo_contact_in_flight (ext_id) SELECT unnest($1::text[]) ON CONFLICT (ext_id) DO NOTHING`,
          [extIds],
        );
      });
    },
    async noteImport(extIds, processId) {
      if (extIds.length === 0) return;
      await pool.query("UPDATE brevo_contact_in_flight SET import_process_id = $2 WHERE ext_id = ANY($1)", [
        extIds,
        processId,
      ]);
    },
    async inFlight(extIds) {
      if (extIds.length === 0) return new Map();
      const { rows } = await pool.query<{ ext_id: string; import_process_id: string | null }>(
        "SELECT ext_id, import_process_id FROM brevo_contact_in_flight WHERE ext_id = ANY($1)",
        [extIds],
      );
      return new Map(rows.map((r) => [r.ext_id, r.import_process_id === null ? null : Number(r.import_process_id)]));
    },
    async clearInFlight(extIds, fence) {
      if (extIds.length === 0) return;
      await transaction(fence, async (client) => {
        await client.query("DELETE FROM brevo_contact_in_flight WHERE ext_id = ANY($1)", [extIds]);
      });
    },
    async discardPushed(extIds, reason) {
      if (extIds.length === 0) return;
      await pool.query(
        `INSERT INTO brevo_sync_failures AS f (ext_id, code, reason, attempts, next_attempt_at)
         SELECT id, 'fenced', $2, 0, now() FROM unnest($1::text[]) AS id
         ON CONFLICT (ext_id) DO UPDATE SET code = 'fenced', reason = $2, next_attempt_at = now()`,
        [extIds, reason],
      );
    },
    async samplePushed(n) {
      const { rows } = await pool.query<{ ext_id: string }>(
        "SELECT ext_id FROM brevo_contact_state WHERE NOT deleted ORDER BY random() LIMIT $1",
        [n],
      );
      return rows.map((r) => r.ext_id);
    },
    async acquireLease(holder) {
      const { rows } = await pool.query<{ epoch: string }>(
        `INSERT INTO brevo_sink_lease (name, epoch, holder) VALUES ($1, 1, $2)
         ON CONFLICT (name) DO UPDATE SET epoch = brevo_sink_lease.epoch + 1, holder = $2, acquired_at = now()
         RETURNING epoch`,
        [CONTACTS_LEASE, holder],
      );
      return Number(rows[0]?.epoch);
    },
    async leaseEpoch() {
      const { rows } = await pool.query<{ epoch: string }>("SELECT epoch FROM brevo_sink_lease WHERE name = $1", [
        CONTACTS_LEASE,
      ]);
      return rows[0] === undefined ? undefined : Number(rows[0].epoch);
    },
    async getCursor(name) {
      const { rows } = await pool.query<{ value: string }>("SELECT value FROM brevo_sink_cursors WHERE name = $1", [
        name,
      ]);
      return rows[0]?.value;
    },
    async setCursor(name, value, fence) {
      await transaction(fence, async (client) => {
        await client.query(
          `INSERT INTO brevo_sink_cursors (name, value) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
          [name, value],
        );
      });
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
