import { minorUnitDigits, toMajorUnits } from "./currency.ts";
import { detailProperties } from "./event-details.ts";
import type { SinkConfig } from "./sink-config.ts";

/** The Checkout webhooks ingest's enricher follows with their line items (issue #20). */
export const LINE_ITEM_EVENT_TYPES: ReadonlySet<string> = new Set([
  "checkout.session.completed",
  "checkout.session.expired",
]);

/** A Stripe event as the sink sees it: enough to decide and to build the Brevo event. */
export interface SinkEvent {
  readonly id: string;
  readonly type: string;
  /** Unix seconds (Stripe `created`). */
  readonly created: number;
  /** The Stripe customer id; for a guest (no customer), `guestKey(email)`. */
  readonly customerId: string;
  /** Set for a guest checkout: the buyer's normalised email, the contact's only identifier. */
  readonly guestEmail?: string;
  /**
   * Read from the enricher's line-items record (which stands for its webhook) rather than the
   * webhook itself; the object then carries `sbs_line_items`.
   */
  readonly enriched?: boolean;
  /**
   * Delivered live by a Stripe webhook. Backfill snapshots, catch-up and replays of the log are
   * history: they rebuild state but must never trigger a marketing event.
   */
  readonly live: boolean;
  /** `data.object` of the Stripe event. */
  readonly object: Readonly<Record<string, unknown>>;
}

/** `POST /events` body (Brevo's `event` schema). */
export interface BrevoEventRequest {
  readonly event_name: string;
  readonly event_date: string;
  readonly identifiers: { readonly ext_id: string } | { readonly email_id: string };
  readonly event_properties: Readonly<Record<string, EventPropertyValue>>;
}

export type EventDecision =
  | { readonly send: true; readonly request: BrevoEventRequest }
  | {
      readonly send: false;
      readonly reason: "disabled" | "unmapped" | "not_live" | "before_watermark" | "line_items_record";
    };

const AMOUNT_FIELDS = [
  "amount",
  "amount_due",
  "amount_paid",
  "amount_refunded",
  "amount_total",
  "amount_remaining",
  "amount_received",
  "amount_subtotal",
];
const TEXT_FIELDS = [
  "id",
  "status",
  "hosted_invoice_url",
  "invoice_pdf",
  "number",
  "billing_reason",
  "failure_message",
  "reason",
  "url",
  "mode",
  "description",
];
const TIME_FIELDS = [
  "trial_end",
  "current_period_end",
  "canceled_at",
  "expires_at",
  "due_date",
  "period_end",
  "next_payment_attempt",
];

/**
 * With `events.line_items` on (the default), a Checkout event is sent from the enricher's
 * line-items record, which follows its webhook in the same partition; the webhook itself is
 * not sent (one ledger id covers both). Off: the webhook is sent, without items.
 */
const sentFromThisRecord = (e: SinkEvent, config: SinkConfig): boolean =>
  !LINE_ITEM_EVENT_TYPES.has(e.type) || (e.enriched === true) === config.events.lineItems;

/**
 * Whether a Stripe event becomes a Brevo custom event, and which. Pure: the ledger (send once)
 * is the caller's. `watermark`: events created before it are history (unix seconds).
 */
export function decideEvent(e: SinkEvent, config: SinkConfig, watermark: number): EventDecision {
  if (!config.events.enabled) return { send: false, reason: "disabled" };
  const name = config.events.mapping[e.type];
  if (name === undefined) return { send: false, reason: "unmapped" };
  if (!sentFromThisRecord(e, config)) return { send: false, reason: "line_items_record" };
  if (!e.live) return { send: false, reason: "not_live" };
  if (e.created < watermark) return { send: false, reason: "before_watermark" };
  return {
    send: true,
    request: {
      event_name: name,
      event_date: new Date(e.created * 1000).toISOString(),
      identifiers: e.guestEmail === undefined ? { ext_id: e.customerId } : { email_id: e.guestEmail },
      event_properties: eventProperties(e),
    },
  };
}

/**
 * A few flat, typed fields of the Stripe object, plus what templates need per kind
 * (event-details.ts: line items, recovery URL, card expiry): within Brevo's 50 KB cap, no PII
 * beyond ids.
 */
function eventProperties(e: SinkEvent): Record<string, EventPropertyValue> {
  const o = e.object;
  const props: Record<string, EventPropertyValue> = { stripe_event_id: e.id, stripe_event_type: e.type };
  const currency = typeof o["currency"] === "string" ? o["currency"] : undefined;
  if (currency !== undefined) props["currency"] = currency.toUpperCase();
  for (const f of TEXT_FIELDS) {
    const v = o[f];
    if (typeof v === "string" && v !== "") props[f === "id" ? "object_id" : f] = v;
  }
  // Brevo's schema types event properties as string | integer: amounts stay integers in minor
  // units, as Stripe sends them, with a major-unit string for display in templates.
  for (const f of AMOUNT_FIELDS) {
    const v = o[f];
    if (typeof v === "number" && Number.isInteger(v) && currency !== undefined) {
      props[f] = v;
      props[`${f}_display`] = toMajorUnits(v, currency).toFixed(minorUnitDigits(currency));
    }
  }
  for (const f of TIME_FIELDS) {
    const v = o[f];
    if (typeof v === "number") props[f] = new Date(v * 1000).toISOString();
  }
  return { ...props, ...detailProperties(o, currency) };
}

/** Brevo's event properties: string | integer, and objects and arrays of them (line items). */
export type EventPropertyValue = string | number | Record<string, string | number>[];
