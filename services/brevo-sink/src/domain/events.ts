import { minorUnitDigits, toMajorUnits } from "./currency.ts";
import type { SinkConfig } from "./sink-config.ts";

/** A Stripe event as the sink sees it: enough to decide and to build the Brevo event. */
export interface SinkEvent {
  readonly id: string;
  readonly type: string;
  /** Unix seconds (Stripe `created`). */
  readonly created: number;
  readonly customerId: string;
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
  readonly identifiers: { readonly ext_id: string };
  readonly event_properties: Readonly<Record<string, string | number>>;
}

export type EventDecision =
  | { readonly send: true; readonly request: BrevoEventRequest }
  | { readonly send: false; readonly reason: "disabled" | "unmapped" | "not_live" | "before_watermark" };

const AMOUNT_FIELDS = ["amount", "amount_due", "amount_paid", "amount_refunded", "amount_total", "amount_remaining"];
const TEXT_FIELDS = ["id", "status", "hosted_invoice_url", "billing_reason", "failure_message", "reason", "url"];
const TIME_FIELDS = ["trial_end", "current_period_end", "canceled_at", "expires_at", "due_date"];

/**
 * Whether a Stripe event becomes a Brevo custom event, and which. Pure: the ledger (send once)
 * is the caller's. `watermark`: events created before it are history (unix seconds).
 */
export function decideEvent(e: SinkEvent, config: SinkConfig, watermark: number): EventDecision {
  if (!config.events.enabled) return { send: false, reason: "disabled" };
  const name = config.events.mapping[e.type];
  if (name === undefined) return { send: false, reason: "unmapped" };
  if (!e.live) return { send: false, reason: "not_live" };
  if (e.created < watermark) return { send: false, reason: "before_watermark" };
  return {
    send: true,
    request: {
      event_name: name,
      event_date: new Date(e.created * 1000).toISOString(),
      identifiers: { ext_id: e.customerId },
      event_properties: eventProperties(e),
    },
  };
}

/** A few flat, typed fields of the Stripe object: far below Brevo's 50 KB cap, no PII beyond ids. */
function eventProperties(e: SinkEvent): Record<string, string | number> {
  const o = e.object;
  const props: Record<string, string | number> = { stripe_event_id: e.id, stripe_event_type: e.type };
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
  return props;
}
