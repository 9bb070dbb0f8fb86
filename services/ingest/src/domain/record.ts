import type { StripeEvent } from "./envelope.ts";
import { type StripeEventEnvelope, toEnvelope } from "./envelope-schema.ts";
import { type KafkaRecordAddress, type RoutingContext, routeEvent } from "./routing.ts";

/** Everything needed to append one Stripe event to the log: where it goes and what it carries. */
export interface AppendRecord extends KafkaRecordAddress {
  readonly envelope: StripeEventEnvelope;
}

/**
 * One function for the three ways events enter (webhook, backfill, catch-up), so they land in
 * the log identically. `payload` is the event's JSON text: the signed bytes for a webhook, the
 * serialised event for API reads.
 */
export function toAppendRecord(
  event: StripeEvent,
  payload: string,
  context: RoutingContext,
): { readonly ok: true; readonly record: AppendRecord } | { readonly ok: false; readonly reason: "unkeyed" } {
  const route = routeEvent(event, context);
  if (!route.ok) return route;
  const envelope = toEnvelope({ event, payload, receivedAt: context.receivedAt, provenance: context.provenance });
  return { ok: true, record: { topic: route.topic, key: route.key, headers: route.headers, envelope } };
}
