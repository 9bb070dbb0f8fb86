import { PLATFORM_ACCOUNT, recordKey } from "@sbs/shared";
import { z } from "zod";
import { type StripeEvent, upcomingInvoiceId } from "./envelope.ts";

/**
 * Where an event goes in Kafka. The key puts every event of one customer of one account in one
 * partition, so the projector sees a customer's history in log order.
 */

/**
 * `enrichment`: a record ingest's enricher derived from another one (a checkout session's line
 * items read from the Stripe API, see src/enrichment/), appended beside it under the same key.
 */
export const EVENT_SOURCES = ["webhook", "backfill", "catch-up", "enrichment"] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

export { PLATFORM_ACCOUNT };

export const HEADER = {
  eventId: "event_id",
  eventType: "event_type",
  created: "created",
  apiVersion: "api_version",
  receivedAt: "received_at",
  source: "source",
  verifiedBy: "verified_by",
} as const;

// Kafka's own rule for topic names.
const topicName = z
  .string()
  .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be 1-249 characters of a-z A-Z 0-9 . _ -")
  .refine((name) => name !== "." && name !== "..", "must not be . or ..");

/** Test and live events never share a topic: a test-mode replay must not touch live projections. */
export const topicConfigSchema = z
  .object({ testTopic: topicName, liveTopic: topicName })
  .refine((t) => t.testTopic !== t.liveTopic, { message: "test and live topics must differ", path: ["liveTopic"] });

export type TopicConfig = z.output<typeof topicConfigSchema>;

/** A webhook is always verified by a named secret; events read from the Stripe API are not. */
export type Provenance =
  | { readonly source: "webhook"; readonly verifiedBy: string }
  | { readonly source: "backfill" | "catch-up" | "enrichment"; readonly verifiedBy?: null };

export interface RoutingContext {
  readonly topics: TopicConfig;
  /** Epoch milliseconds at which ingest received (or, for API reads, fetched) the event. */
  readonly receivedAt: number;
  readonly provenance: Provenance;
}

/** Kafka headers; `api_version` and `verified_by` are left out when they have no value. */
export type RecordHeaders = Readonly<Record<string, string>>;

export interface KafkaRecordAddress {
  readonly topic: string;
  readonly key: string;
  readonly headers: RecordHeaders;
}

export type RoutingResult =
  | ({ readonly ok: true } & KafkaRecordAddress)
  | { readonly ok: false; readonly reason: "unkeyed" };

type StripeObject = StripeEvent["data"]["object"];

/**
 * The customer a Stripe object belongs to: the object itself when it is a customer, else its
 * `customer` field (an id, or an expanded customer object), else undefined.
 */
export function customerIdOf(object: StripeObject): string | undefined {
  if (object.object === "customer") return object.id;
  const customer: unknown = object["customer"];
  if (typeof customer === "string") return customer === "" ? undefined : customer;
  if (typeof customer === "object" && customer !== null && "id" in customer) {
    const id: unknown = customer.id;
    if (typeof id === "string" && id !== "") return id;
  }
  return undefined;
}

/**
 * `${account ?? "platform"}:${customer id ?? object id}`. Objects without a customer (a guest
 * charge, a dispute, a product) are keyed by their own id. An invoice preview (invoice.upcoming)
 * has no id but a customer: keyed by it. Undefined for any other object without an id.
 */
export function routingKeyOf(event: Pick<StripeEvent, "account" | "data">): string | undefined {
  const object = event.data.object;
  if (object.id === undefined && upcomingInvoiceId(object) === undefined) return undefined;
  return recordKey(event.account, customerIdOf(object) ?? String(object.id));
}

export function topicFor(livemode: boolean, topics: TopicConfig): string {
  return livemode ? topics.liveTopic : topics.testTopic;
}

export function routeEvent(
  event: Pick<StripeEvent, "id" | "type" | "created" | "livemode" | "api_version" | "account" | "data">,
  context: RoutingContext,
): RoutingResult {
  const key = routingKeyOf(event);
  if (key === undefined) return { ok: false, reason: "unkeyed" };
  const headers: Record<string, string> = {
    [HEADER.eventId]: event.id,
    [HEADER.eventType]: event.type,
    [HEADER.created]: String(event.created),
    [HEADER.receivedAt]: new Date(context.receivedAt).toISOString(),
    [HEADER.source]: context.provenance.source,
  };
  if (event.api_version !== null) headers[HEADER.apiVersion] = event.api_version;
  const verifiedBy = context.provenance.verifiedBy;
  if (typeof verifiedBy === "string") headers[HEADER.verifiedBy] = verifiedBy;
  return { ok: true, topic: topicFor(event.livemode, context.topics), key, headers };
}
