import { z } from "zod";

/**
 * Line items of a checkout session as their own event in the log (issue #20). A Checkout webhook
 * does not carry the session's line items; the enricher (src/enrichment/) reads them from
 * `GET /v1/checkout/sessions/{id}/line_items` once and appends this event beside the webhook,
 * under the same key, so consumers (the Brevo sink) and every replay see the same items without
 * calling Stripe again. Pure: building and checking, no IO.
 */

/** `type` of the appended event; its envelope's `source` is `enrichment`. */
export const LINE_ITEMS_EVENT_TYPE = "checkout.session.line_items";

/** The Checkout webhooks whose sessions the sink turns into Brevo events. */
export const ENRICHED_EVENT_TYPES: ReadonlySet<string> = new Set([
  "checkout.session.completed",
  "checkout.session.expired",
]);

/**
 * At most this many items are kept (one page at Stripe's maximum `limit`): Checkout accepts up
 * to 100 line items in payment mode, and Brevo caps an event at 50 KB anyway.
 */
export const MAX_LINE_ITEMS = 100;

/**
 * One id per source event: a re-delivery of the webhook, or the enricher re-reading a record
 * after a crash, appends an event with the same id, which every consumer dedupes.
 */
export const lineItemsEventId = (sourceEventId: string): string => `evt_li_${sourceEventId.replace(/^evt_/, "")}`;

/** Whether an appended record is one the enricher reads line items for. */
export const needsLineItems = (record: { readonly type: string; readonly source: string }): boolean =>
  record.source === "webhook" && ENRICHED_EVENT_TYPES.has(record.type);

// Stripe's `item` object (a checkout session line item), as far as consumers read it; every
// other field is kept as Stripe sent it.
const idOrObject = z.union([z.string(), z.looseObject({ id: z.string() })]);
export const checkoutLineItemSchema = z.looseObject({
  id: z.string().min(1),
  object: z.literal("item"),
  description: z.string().nullish(),
  quantity: z.int().nonnegative().nullish(),
  amount_total: z.int(),
  amount_subtotal: z.int().nullish(),
  currency: z.string().min(3),
  price: z.looseObject({ id: z.string(), product: idOrObject.nullish(), nickname: z.string().nullish() }).nullish(),
});
export type CheckoutLineItem = z.output<typeof checkoutLineItemSchema>;

/** Stripe's list envelope (`{object: "list", data, has_more, url}`). */
export const lineItemsPageSchema = z.looseObject({
  object: z.literal("list"),
  data: z.array(checkoutLineItemSchema),
  has_more: z.boolean(),
});

/** What the enricher learnt: the items, or why there are none (the event goes out without them). */
export type LineItemsOutcome =
  | { readonly ok: true; readonly items: readonly CheckoutLineItem[]; readonly truncated: boolean }
  | { readonly ok: false; readonly error: string };

/** The source webhook as the enricher read it from the log. */
export interface SourceEvent {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  readonly api_version: string | null;
  readonly account?: string | undefined;
  readonly source: string;
  readonly data: { readonly object: Readonly<Record<string, unknown>> };
}

/**
 * The appended event: the session exactly as the webhook carried it, plus `sbs_line_items`
 * (Stripe's items, or null), `sbs_line_items_error` and `sbs_enriched_from` (the webhook's id,
 * type and source, which decide whether and when the sink sends it). `created` is the
 * webhook's: the items belong to that moment of the session.
 */
export function lineItemsEvent(source: SourceEvent, outcome: LineItemsOutcome) {
  return {
    id: lineItemsEventId(source.id),
    object: "event" as const,
    type: LINE_ITEMS_EVENT_TYPE,
    created: source.created,
    livemode: source.livemode,
    api_version: source.api_version,
    ...(source.account === undefined ? {} : { account: source.account }),
    sbs_source: "enrichment",
    data: {
      object: {
        ...source.data.object,
        sbs_line_items: outcome.ok ? { data: outcome.items, truncated: outcome.truncated } : null,
        sbs_line_items_error: outcome.ok ? null : outcome.error,
        sbs_enriched_from: { event_id: source.id, event_type: source.type, source: source.source },
      },
    },
  };
}
