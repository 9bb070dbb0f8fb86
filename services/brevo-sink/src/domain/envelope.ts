import type { SinkEvent } from "./events.ts";
import { guestEmailOf, guestKey } from "./guest.ts";

/**
 * The record ingest's enricher appends beside a Checkout webhook, carrying the session's line
 * items (`@sbs/ingest` src/domain/line-items.ts): type, and the field naming its webhook.
 */
export const LINE_ITEMS_EVENT_TYPE = "checkout.session.line_items";

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
 *
 * A line-items record (enrichment) stands for its webhook: it takes the webhook's id (one ledger
 * entry, whichever record sends), type and provenance, and its object is the session with the
 * items. A checkout session without customer belongs to a guest, identified by email.
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
  const from = envelope.type === LINE_ITEMS_EVENT_TYPE ? object["sbs_enriched_from"] : undefined;
  if (envelope.type === LINE_ITEMS_EVENT_TYPE && !isEnrichedFrom(from)) return { ok: false, reason: "no_object" };
  const customerId = customerIdOf(object);
  const guestEmail = customerId === undefined ? guestEmailOf(object) : undefined;
  if (customerId === undefined && guestEmail === undefined) return { ok: false, reason: "no_customer" };
  return {
    ok: true,
    event: {
      id: isEnrichedFrom(from) ? from.event_id : envelope.event_id,
      type: isEnrichedFrom(from) ? from.event_type : envelope.type,
      created: envelope.created,
      customerId: customerId ?? guestKey(guestEmail ?? ""),
      ...(guestEmail === undefined ? {} : { guestEmail }),
      live: (isEnrichedFrom(from) ? from.source : envelope.source) === "webhook",
      enriched: isEnrichedFrom(from),
      object,
    },
  };
}

const isEnrichedFrom = (v: unknown): v is { event_id: string; event_type: string; source: string } =>
  isRecord(v) &&
  typeof v["event_id"] === "string" &&
  typeof v["event_type"] === "string" &&
  typeof v["source"] === "string";
