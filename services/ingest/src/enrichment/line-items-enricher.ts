import { AppError, backoffDelay, type Logger, type SchemaRegistry } from "@sbs/shared";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type Stripe from "stripe";
import type { EventLog } from "../adapters/event-log.ts";
import type { Clock } from "../commands/clock.ts";
import { parseStripeEvent } from "../domain/envelope.ts";
import type { StripeEventEnvelope } from "../domain/envelope-schema.ts";
import { type LineItemsOutcome, lineItemsEvent, needsLineItems } from "../domain/line-items.ts";
import { toAppendRecord } from "../domain/record.ts";
import type { TopicConfig } from "../domain/routing.ts";
import { fetchLineItems } from "./fetch-line-items.ts";

/**
 * The enrichment step (issue #20): ingest answers webhooks without calling Stripe; this consumer
 * (its own group on the event topic) sees each Checkout webhook afterwards, reads the session's
 * line items from the Stripe API (rate limited by the client's limiter, 429s backed off there)
 * and appends them as a `checkout.session.line_items` event under the session's key, then
 * commits the webhook's offset. A crash between append and commit appends the same event id
 * again, which consumers dedupe.
 *
 * Transient Stripe failures are retried with backoff, in partition order, up to `maxAttempts`;
 * past them (or on a permanent answer such as 404) the event is appended without items and with
 * the reason, so a Brevo event still goes out. A refused key stops the consumer (fatal).
 */
export interface LineItemsEnricherOptions {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  /** The topic read; appends go where ingest's routing puts them (the same topic for its mode). */
  readonly topic: string;
  readonly topics: TopicConfig;
  readonly groupId: string;
  readonly stripe: Stripe;
  readonly eventLog: EventLog;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Attempts per session before it is appended without items (default 6). */
  readonly maxAttempts?: number;
  /** First retry delay; doubles per attempt with full jitter, up to 60 s (default 1000). */
  readonly baseBackoffMs?: number;
  readonly sessionTimeoutMs?: number;
  /** Called when a fatal error stopped consumption (e.g. the Stripe key was refused). */
  readonly onFatal?: (error: unknown) => void;
}

export interface LineItemsEnricher {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly report: { records: number; enriched: number; withoutItems: number; retries: number };
}

export function createLineItemsEnricher(opts: LineItemsEnricherOptions): LineItemsEnricher {
  const logger = opts.logger.child({ component: "line-items-enricher" });
  const report = { records: 0, enriched: 0, withoutItems: 0, retries: 0 };
  const maxAttempts = opts.maxAttempts ?? 6;
  const backoff = { baseDelayMs: opts.baseBackoffMs ?? 1000, maxDelayMs: 60_000 };
  let consumer: Consumer | undefined;

  const fetchWithRetries = async (sessionId: string, payload: EachBatchPayload): Promise<LineItemsOutcome | null> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchLineItems(opts.stripe, sessionId);
      } catch (error) {
        if (error instanceof AppError && !error.retriable) throw error;
        if (attempt + 1 >= maxAttempts) {
          logger.warn({ sessionId, attempts: attempt + 1 }, "line items unavailable; appending the event without them");
          return { ok: false, error: `unavailable after ${attempt + 1} attempts` };
        }
        report.retries++;
        await payload.heartbeat();
        await opts.clock.sleep(backoffDelay(attempt, backoff));
        if (!payload.isRunning() || payload.isStale()) return null;
      }
    }
  };

  /** Appends the line items of one record, or does nothing when it needs none. False: stop. */
  const enrich = async (envelope: StripeEventEnvelope, payload: EachBatchPayload): Promise<boolean> => {
    if (!needsLineItems(envelope)) return true;
    const parsed = parseStripeEvent(Buffer.from(envelope.payload, "utf8"));
    if (!parsed.ok || parsed.event.data.object.id === undefined) {
      logger.warn({ eventId: envelope.event_id }, "checkout event without a session id; not enriched");
      return true;
    }
    const outcome = await fetchWithRetries(parsed.event.data.object.id, payload);
    if (outcome === null) return false;
    // Through ingest's own parse and routing, so the appended record is keyed like the webhook.
    const text = JSON.stringify(lineItemsEvent({ ...parsed.event, source: envelope.source }, outcome));
    const built = parseStripeEvent(Buffer.from(text, "utf8"));
    const routed = built.ok
      ? toAppendRecord(built.event, built.payload, {
          topics: opts.topics,
          receivedAt: opts.clock.now(),
          provenance: { source: "enrichment" },
        })
      : undefined;
    if (routed === undefined || !routed.ok)
      throw new Error(`line-items event of ${envelope.event_id} cannot be routed`);
    await opts.eventLog.append(routed.record);
    if (outcome.ok) report.enriched++;
    else report.withoutItems++;
    return true;
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      report.records++;
      let envelope: StripeEventEnvelope | undefined;
      try {
        envelope =
          message.value === null ? undefined : ((await opts.registry.decode(message.value)) as StripeEventEnvelope);
      } catch (error) {
        // Poison records (not Confluent wire format, unknown schema id) are the projector's to
        // dead-letter; anything else (the registry unreachable) is thrown and the batch retried.
        const poison =
          (error as { name?: string }).name === "ConfluentSchemaRegistryArgumentError" ||
          (error as { status?: number }).status === 404;
        if (!poison) throw error;
        logger.warn({ partition: batch.partition, offset: message.offset }, "record not decodable; skipped");
      }
      if (envelope !== undefined && !(await enrich(envelope, payload))) break;
      resolveOffset(message.offset);
      // Committed per record: a later failure must not re-fetch what is already appended.
      await consumer?.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
      await heartbeat();
    }
  };

  return {
    report,
    async start() {
      consumer = opts.kafka.consumer({
        groupId: opts.groupId,
        ...(opts.sessionTimeoutMs ? { sessionTimeout: opts.sessionTimeoutMs } : {}),
      });
      await consumer.connect();
      // A new group starts at the beginning: a session expired while the enricher was down is
      // still enriched (the sink decides, by the webhook's time, whether it is still news).
      await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async (payload) => {
          try {
            await eachBatch(payload);
          } catch (error) {
            if (error instanceof AppError && !error.retriable) {
              logger.error({ code: error.code, alert: "line_items_enricher_fatal" }, error.message);
              opts.onFatal?.(error);
              void consumer?.pause([{ topic: opts.topic }]);
              return;
            }
            throw error;
          }
        },
      });
      logger.info({ topic: opts.topic, groupId: opts.groupId }, "line-items enricher started");
    },
    async stop() {
      await consumer?.disconnect();
      consumer = undefined;
    },
  };
}
