import { AppError } from "@sbs/shared";
import type { EventLog } from "../adapters/event-log.ts";
import type { AppendRecord } from "../domain/record.ts";

/** An in-memory EventLog: `records` holds what was acknowledged, in acknowledgement order. */
export interface RecordingEventLog extends EventLog {
  readonly records: AppendRecord[];
  /** Appends attempted, acknowledged or not. */
  readonly attempts: number;
}

export interface RecordingEventLogOptions {
  /** Acknowledge this many appends, then refuse every later one as Kafka being unavailable. */
  readonly failAfter?: number;
  /** Milliseconds before the n-th append (0-based) is acknowledged: makes acks arrive out of order. */
  readonly delayMs?: (n: number) => number;
}

export function createRecordingEventLog(opts: RecordingEventLogOptions = {}): RecordingEventLog {
  const records: AppendRecord[] = [];
  let attempts = 0;
  let inFlight = 0;
  let closed = false;
  return {
    records,
    get attempts() {
      return attempts;
    },
    get inFlight() {
      return inFlight;
    },
    async append(record) {
      if (closed) throw new AppError("shutting_down", "the event log is closed", { retriable: true });
      const n = attempts++;
      inFlight++;
      try {
        const delay = opts.delayMs?.(n) ?? 0;
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        if (opts.failAfter !== undefined && n >= opts.failAfter) {
          throw new AppError("kafka_unavailable", "the broker did not acknowledge the records", { retriable: true });
        }
        records.push(record);
      } finally {
        inFlight--;
      }
    },
    async close() {
      closed = true;
    },
  };
}

/** The Stripe event inside a record (what the projector would read). */
export function eventOf(record: AppendRecord): {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
} {
  return JSON.parse(record.envelope.payload);
}
