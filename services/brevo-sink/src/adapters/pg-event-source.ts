import type { Pool } from "@sbs/shared";
import type { SinkEvent } from "../domain/events.ts";
import type { EventSource } from "./event-source.ts";

/**
 * THIN ADAPTER over a relation of Stripe events for the sink, which the projector side is to
 * provide (not built yet). Everything assumed about it is here: `customer_events` with
 *   seq bigint (increasing), event_id text, type text, created bigint (unix seconds),
 *   customer_id text, live boolean (delivered by a webhook, not a backfill/replay), object jsonb.
 */
const SINCE = `
  SELECT seq, event_id, type, created, customer_id, live, object
  FROM customer_events WHERE seq > $1 ORDER BY seq LIMIT $2`;

export function createPgEventSource(pool: Pool): EventSource {
  return {
    async since(cursor, limit) {
      const { rows } = await pool.query<{
        seq: string;
        event_id: string;
        type: string;
        created: string;
        customer_id: string;
        live: boolean;
        object: Record<string, unknown>;
      }>(SINCE, [cursor ?? "0", limit]);
      const events: SinkEvent[] = rows.map((r) => ({
        id: r.event_id,
        type: r.type,
        created: Number(r.created),
        customerId: r.customer_id,
        live: r.live,
        object: r.object,
      }));
      return { events, cursor: rows.length > 0 ? String(rows[rows.length - 1]?.seq) : cursor };
    },
  };
}
