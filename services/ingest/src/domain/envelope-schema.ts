import type { StripeEvent } from "./envelope.ts";
import type { Provenance } from "./routing.ts";

/**
 * The value ingest appends, registered in the schema registry. The Stripe event travels as the
 * exact text that was signed (`payload`), so nothing the projector may read later (fields moved
 * by an API version, fields we do not parse today) is lost; the other fields are a typed index
 * over it for consumers that route or filter without parsing the payload.
 *
 * `source` is a string, not an Avro enum: enum symbols cannot contain "-" (`catch-up`), and a new
 * source would otherwise break consumers still on the old schema.
 */
export const STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA = {
  type: "record",
  name: "StripeEventEnvelope",
  namespace: "sbs.ingest",
  doc: "A Stripe event as received by ingest (webhook) or read from the Stripe API (backfill, catch-up).",
  fields: [
    { name: "event_id", type: "string", doc: "Stripe event id (evt_…); evt_snapshot_… for backfill snapshots." },
    { name: "type", type: "string", doc: "Stripe event type, e.g. charge.succeeded or customer.snapshot." },
    { name: "created", type: "long", doc: "Event creation time, unix seconds (Stripe's clock)." },
    { name: "livemode", type: "boolean" },
    { name: "api_version", type: ["null", "string"], default: null, doc: "API version data.object is rendered at." },
    { name: "account", type: ["null", "string"], default: null, doc: "Connect account id; null for the platform." },
    { name: "source", type: "string", doc: "webhook | backfill | catch-up" },
    {
      name: "received_at",
      type: { type: "long", logicalType: "timestamp-millis" },
      doc: "When ingest received or fetched the event, epoch milliseconds (ingest's clock).",
    },
    { name: "verified_by", type: ["null", "string"], default: null, doc: "Name (never value) of the webhook secret." },
    { name: "payload", type: "string", doc: "The Stripe event JSON exactly as received, decoded as UTF-8." },
  ],
} as const;

export interface StripeEventEnvelope {
  readonly event_id: string;
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  readonly api_version: string | null;
  readonly account: string | null;
  readonly source: Provenance["source"];
  readonly received_at: number;
  readonly verified_by: string | null;
  readonly payload: string;
}

export interface ToEnvelopeInput {
  readonly event: Pick<StripeEvent, "id" | "type" | "created" | "livemode" | "api_version" | "account">;
  /** The body as received (`parseStripeEvent(...).payload`), or the serialised snapshot event. */
  readonly payload: string;
  /** Epoch milliseconds. */
  readonly receivedAt: number;
  readonly provenance: Provenance;
}

export function toEnvelope({ event, payload, receivedAt, provenance }: ToEnvelopeInput): StripeEventEnvelope {
  return {
    event_id: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode,
    api_version: event.api_version,
    account: event.account ?? null,
    source: provenance.source,
    received_at: receivedAt,
    verified_by: provenance.verifiedBy ?? null,
    payload,
  };
}
