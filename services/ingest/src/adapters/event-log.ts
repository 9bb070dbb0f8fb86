import { AppError, type Logger, registerAvroSchema, type SchemaRegistry } from "@sbs/shared";
import type { Message, Producer } from "kafkajs";
import { STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA } from "../domain/envelope-schema.ts";
import type { AppendRecord } from "../domain/record.ts";

/**
 * The append-only event log as ingest sees it. `append` resolves only once the broker has
 * acknowledged the record with acks=-1, which is what lets the webhook answer 2xx.
 */
export interface EventLog {
  append(record: AppendRecord): Promise<void>;
  /** Records accepted by `append` whose acknowledgement has not come back yet. */
  readonly inFlight: number;
  /** Sends what is pending and waits for it; appends after this are refused. */
  close(): Promise<void>;
}

export interface EventLogOptions {
  producer: Producer;
  registry: SchemaRegistry;
  /** Subject the envelope schema is registered under (topic-independent: one envelope for all topics). */
  subject: string;
  logger: Logger;
  /** Per-append deadline: past it the caller gets an error (the record may still land; downstream dedupes). */
  timeoutMs: number;
  /** Appends beyond this are refused at once, so memory stays bounded when the broker is slow. */
  maxInFlight: number;
  /**
   * The same bound in bytes of encoded records (events range from 1 KB to 1 MiB, so a count alone
   * bounds nothing). Unlimited when not given.
   */
  maxInFlightBytes?: number;
  /** Upper bound of records per produce request. */
  maxBatch: number;
  onAcked?: (record: AppendRecord, latencyMs: number) => void;
}

interface Pending {
  record: AppendRecord;
  message: Message;
  started: number;
  settle: (error?: AppError) => void;
}

export const ENVELOPE_SUBJECT = "sbs.ingest.StripeEventEnvelope";

/**
 * Concurrent appends share produce requests: every append that arrives while the event loop is
 * busy joins the next batch (flushed on setImmediate), so throughput is not one broker round
 * trip per webhook, yet each caller still waits for the acknowledgement of its own batch.
 */
export async function createEventLog(opts: EventLogOptions): Promise<EventLog> {
  const schemaId = await registerAvroSchema(opts.registry, opts.subject, STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA);
  const log = opts.logger.child({ component: "event-log" });
  let queue: Pending[] = [];
  let inFlight = 0;
  let inFlightBytes = 0;
  const maxInFlightBytes = opts.maxInFlightBytes ?? Number.POSITIVE_INFINITY;
  let scheduled = false;
  let closed = false;
  const sending = new Set<Promise<void>>();

  const flush = () => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, opts.maxBatch);
      queue = queue.slice(opts.maxBatch);
      const sent = send(batch);
      sending.add(sent);
      void sent.finally(() => sending.delete(sent));
    }
  };

  const send = async (batch: Pending[]): Promise<void> => {
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const messages = byTopic.get(p.record.topic) ?? [];
      messages.push(p.message);
      byTopic.set(p.record.topic, messages);
    }
    try {
      await opts.producer.sendBatch({
        acks: -1,
        timeout: opts.timeoutMs,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      const now = performance.now();
      for (const p of batch) {
        opts.onAcked?.(p.record, now - p.started);
        p.settle();
      }
    } catch (cause) {
      log.warn({ err: cause, records: batch.length }, "produce failed");
      const error = new AppError("kafka_unavailable", "the broker did not acknowledge the records", {
        retriable: true,
        cause,
      });
      for (const p of batch) p.settle(error);
    }
  };

  return {
    get inFlight() {
      return inFlight;
    },

    async append(record) {
      if (closed) throw new AppError("shutting_down", "the event log is closed", { retriable: true });
      if (inFlight >= opts.maxInFlight) {
        throw new AppError("overloaded", `more than ${opts.maxInFlight} appends in flight`, { retriable: true });
      }
      // Counted until the broker answers, not until the caller's deadline: a timed-out record is
      // still held by the producer, and the cap exists to bound exactly that memory.
      inFlight++;
      let value: Buffer;
      try {
        value = await opts.registry.encode(schemaId, record.envelope);
      } catch (cause) {
        inFlight--;
        throw new AppError("encode_failed", "the envelope could not be encoded", { retriable: false, cause });
      }
      if (inFlightBytes + value.length > maxInFlightBytes && inFlightBytes > 0) {
        inFlight--;
        throw new AppError("overloaded", `more than ${maxInFlightBytes} bytes of appends in flight`, {
          retriable: true,
        });
      }
      const bytes = value.length;
      inFlightBytes += bytes;
      const message: Message = {
        key: record.key,
        value,
        headers: record.headers,
        timestamp: String(record.envelope.received_at),
      };
      await new Promise<void>((resolve, reject) => {
        let answered = false;
        const timer = setTimeout(() => {
          answered = true;
          reject(
            new AppError("produce_timeout", `no broker acknowledgement within ${opts.timeoutMs} ms`, {
              retriable: true,
            }),
          );
        }, opts.timeoutMs);
        queue.push({
          record,
          message,
          started: performance.now(),
          settle: (error) => {
            inFlight--;
            inFlightBytes -= bytes;
            clearTimeout(timer);
            if (answered) return;
            answered = true;
            if (error) reject(error);
            else resolve();
          },
        });
        if (queue.length >= opts.maxBatch) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },

    async close() {
      closed = true;
      flush();
      await Promise.allSettled([...sending]);
    },
  };
}
