/** Test data produced as ingest produces it (one helper, owned by ingest, shared by every service's tests). */
import { type TestEventLog as Log, openTestEventLog as open } from "@sbs/ingest/testing/event-log";
import type { Logger } from "@sbs/shared";
import type { RawEvent } from "../domain/stripe-test-events.ts";

export type TestEventLog = Log<RawEvent>;

export const openTestEventLog = (opts: {
  brokers: string[];
  registryUrl: string;
  topic: string;
  partitions: number;
  logger: Logger;
}): Promise<TestEventLog> => open<RawEvent>(opts);
