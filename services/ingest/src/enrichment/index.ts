/** The enrichment step (issue #20): line items of Checkout sessions, read after the webhook was answered. */
export { createEventLog, ENVELOPE_SUBJECT, type EventLog } from "../adapters/event-log.ts";
export { fetchLineItems } from "./fetch-line-items.ts";
export {
  createLineItemsEnricher,
  type LineItemsEnricher,
  type LineItemsEnricherOptions,
} from "./line-items-enricher.ts";
