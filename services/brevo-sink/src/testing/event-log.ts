/**
 * Stripe events for the sink's integration tests, appended through ingest's shared test helper
 * (`@sbs/ingest/testing/event-log`: ingest's routing, envelope and partitioner).
 */
import type { EventSource } from "@sbs/ingest/routing";
import { type TestEventLog as Log, openTestEventLog as open } from "@sbs/ingest/testing/event-log";
import type { Logger } from "@sbs/shared";

export interface RawStripeEvent {
  readonly id: string;
  readonly object: "event";
  readonly type: string;
  readonly created: number;
  readonly api_version: string | null;
  readonly livemode: boolean;
  readonly data: { readonly object: Record<string, unknown> };
}

export type Delivery = EventSource;

export function stripeEvent(
  type: string,
  created: number,
  object: Record<string, unknown>,
  id = `evt_${type.replaceAll(".", "_")}_${String(object["id"])}_${created}`,
): RawStripeEvent {
  return { id, object: "event", type, created, api_version: "2024-06-20", livemode: false, data: { object } };
}

export type TestEventLog = Log<RawStripeEvent>;

export const openTestEventLog = (opts: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<TestEventLog> => open<RawStripeEvent>(opts);
