import type { SinkEvent } from "./events.ts";

/**
 * The fields of ingest's Avro envelope (`sbs.ingest.StripeEventEnvelope`, see
 * `@sbs/ingest/envelope-schema`) the sink reads. `payload` is the Stripe event JSON text.
 */
export interface EnvelopeView {
  readonly event_id: string;
  readonly type: string;
  readonly created: number;
  readonly source: string;
  readonly payload: string;
}

export type EnvelopeOutcome =
  | { readonly ok: true; readonly event: SinkEvent }
  | { readonly ok: false; readonly reason: "no_customer" | "payload_json" | "no_object" };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The customer a Stripe object belongs to: itself when a customer, else its `customer` (id or expanded). */
export function customerIdOf(object: Readonly<Record<string, unknown>>): string | undefined {
  if (object["object"] === "customer") return typeof object["id"] === "string" ? object["id"] : undefined;
  const c = object["customer"];
  if (typeof c === "string") return c === "" ? undefined : c;
  if (isRecord(c) && typeof c["id"] === "string" && c["id"] !== "") return c["id"];
  return undefined;
}

/**
 * An envelope as the sink's event: `live` only for events a Stripe webhook delivered; backfill
 * snapshots and catch-up reads are history. The envelope's own fields win over the payload's
 * (they are what ingest indexed the record by).
 */
export function envelopeToSinkEvent(envelope: EnvelopeView): EnvelopeOutcome {
  let raw: unknown;
  try {
    raw = JSON.parse(envelope.payload);
  } catch {
    return { ok: false, reason: "payload_json" };
  }
  const data = isRecord(raw) ? raw["data"] : undefined;
  const object = isRecord(data) ? data["object"] : undefined;
  if (!isRecord(object)) return { ok: false, reason: "no_object" };
  const customerId = customerIdOf(object);
  if (customerId === undefined) return { ok: false, reason: "no_customer" };
  return {
    ok: true,
    event: {
      id: envelope.event_id,
      type: envelope.type,
      created: envelope.created,
      customerId,
      live: envelope.source === "webhook",
      object,
    },
  };
}
