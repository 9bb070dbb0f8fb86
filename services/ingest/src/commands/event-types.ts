import type Stripe from "stripe";

/**
 * The API version the webhook endpoint and the API reads are pinned to, so webhook payloads and
 * backfill snapshots render objects the same way (the projector parses both this shape and the
 * pre-basil one, see DOMAIN.md §1).
 */
export const PINNED_API_VERSION = "2025-03-31.basil";

/**
 * Every event type the projector reads, and the ones only the sink sends as Brevo events
 * (issue #20: lifecycle events). Typed against the SDK's list of valid `enabled_events`,
 * so a misspelt type fails the typecheck instead of the endpoint creation.
 */
export const PROJECTOR_EVENT_TYPES = [
  "customer.created",
  "customer.updated",
  "customer.deleted",
  // Since basil a subscription lists its discounts by id only: the coupon reaches the fold
  // through these (the discount object embeds it).
  "customer.discount.created",
  "customer.discount.updated",
  "customer.discount.deleted",
  "charge.succeeded",
  "charge.failed",
  "charge.refunded",
  "charge.updated",
  "charge.captured",
  "charge.pending",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
  "customer.subscription.trial_will_end",
  "customer.subscription.paused",
  "customer.subscription.resumed",
  "invoice.paid",
  "invoice.payment_failed",
  "invoice.finalized",
  "invoice.voided",
  "invoice.marked_uncollectible",
  "invoice.created",
  "invoice.updated",
  "invoice_payment.paid",
  "product.created",
  "product.updated",
  "product.deleted",
  "price.created",
  "price.updated",
  "price.deleted",
  "checkout.session.completed",
  "checkout.session.expired",
  "refund.created",
  "refund.updated",
  // Sent by the sink as Brevo events (issue #20); the projector ignores or merely folds them.
  "invoice.upcoming",
  "invoice.sent",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "customer.source.expiring",
] as const satisfies readonly Stripe.WebhookEndpointCreateParams.EnabledEvent[];

export type ProjectorEventType = (typeof PROJECTOR_EVENT_TYPES)[number];

/** `GET /v1/events` accepts at most 20 `types[]` per request. */
export const MAX_TYPES_PER_EVENTS_REQUEST = 20;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
