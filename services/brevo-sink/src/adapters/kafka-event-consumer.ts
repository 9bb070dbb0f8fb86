import { AppError, type Logger, type SchemaRegistry } from "@sbs/shared";
import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { desiredContact } from "../domain/desired.ts";
import { type EnvelopeView, envelopeToSinkEvent, LINE_ITEMS_EVENT_TYPE } from "../domain/envelope.ts";
import { decideEvent } from "../domain/events.ts";
import type { SinkConfig } from "../domain/sink-config.ts";
import { type EventsReport, emptyEventsReport, eventsWatermark, sendEvents } from "../sync.ts";
import type { BrevoTransport } from "./brevo-transport.ts";
import type { Clock } from "./clock.ts";
import type { ProjectionSource } from "./projection-source.ts";
import type { SinkState } from "./sink-state.ts";

/**
 * Custom events from ingest's event log: a consumer group of its own on the event topic
 * (`stripe.events.test` / `.live`), values are ingest's Avro envelopes in Confluent wire format.
 *
 * Per record, in partition order: decode, decide (mapped type, delivered by a webhook, created at
 * or after the watermark), send once through the ledger (claimed before the call, never re-sent),
 * and only then commit the record's offset. A crash anywhere re-reads uncommitted records; the
 * ledger turns their re-send into a no-op. Undecodable records are logged and skipped (the
 * projector dead-letters them); an unreachable registry or Brevo throws, the batch is retried.
 *
 * A webhook usually arrives before the projector and the sink have pushed a new customer's
 * contact: an event whose contact is not in Brevo yet waits (its partition only) until the
 * contact is pushed or `contactWaitMs` after ingest received it, then is recorded as no_contact.
 * A customer the projection shows without email or deleted gets no contact: no wait.
 */
export interface KafkaEventConsumerOptions {
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly topic: string;
  readonly groupId: string;
  readonly config: SinkConfig;
  readonly state: SinkState;
  readonly transport: BrevoTransport;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly contactWaitMs: number;
  /**
   * The projection, to stop waiting at once for a customer that will never have a contact (no
   * email, deleted); without it such events wait the full contactWaitMs.
   */
  readonly source?: ProjectionSource;
  readonly contactPollMs?: number;
  readonly sessionTimeoutMs?: number;
  /** Called after Brevo accepted an event and before the ledger says so (crash tests). */
  readonly onEventSent?: (eventId: string) => void;
}

export interface KafkaEventConsumer {
  /** Connects, subscribes (from the earliest offset for a new group) and starts consuming. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Counters since start (`relaunches`: consumers started again after kafkajs gave up). */
  readonly report: EventsReport & { records: number; undecodable: number; relaunches: number };
}

/** First wait before a new consumer after a crash kafkajs will not restart; doubles up to 32×. */
const RELAUNCH_MS = 1000;

interface AvroType {
  fromBuffer(buffer: Buffer): unknown;
}

type Decoded = { ok: true; envelope: EnvelopeView } | { ok: false; reason: string };

export function createKafkaEventConsumer(opts: KafkaEventConsumerOptions): KafkaEventConsumer {
  const logger = opts.logger.child({ component: "events-consumer" });
  const report = { ...emptyEventsReport(), records: 0, undecodable: 0, relaunches: 0 };
  const schemas = new Map<number, AvroType>();
  const pollMs = opts.contactPollMs ?? 1000;
  let consumer: Consumer | undefined;
  let watermark = 0;

  const decode = async (value: Buffer | null): Promise<Decoded> => {
    if (value === null || value.length < 5 || value[0] !== 0) return { ok: false, reason: "not Confluent wire format" };
    const id = value.readInt32BE(1);
    let schema = schemas.get(id);
    if (schema === undefined) {
      try {
        schema = (await opts.registry.getSchema(id)) as unknown as AvroType;
      } catch (cause) {
        if ((cause as { status?: number }).status === 404) return { ok: false, reason: `schema id ${id} unknown` };
        throw new AppError("schema_registry_unavailable", `fetching schema ${id} failed`, { retriable: true, cause });
      }
      schemas.set(id, schema);
    }
    try {
      const envelope = schema.fromBuffer(value.subarray(5)) as EnvelopeView;
      if (typeof envelope.payload !== "string" || typeof envelope.event_id !== "string")
        return { ok: false, reason: "not a StripeEventEnvelope" };
      return { ok: true, envelope };
    } catch (error) {
      return { ok: false, reason: `Avro body does not match its schema: ${(error as Error).message}` };
    }
  };

  /** Whether the record needs the ledger at all: cheap checks on the envelope's index fields. */
  const candidate = (e: EnvelopeView) =>
    opts.config.events.enabled &&
    // A line-items record stands for its webhook: decideEvent checks its type and provenance.
    (e.type === LINE_ITEMS_EVENT_TYPE
      ? opts.config.events.lineItems
      : opts.config.events.mapping[e.type] !== undefined && e.source === "webhook") &&
    Number(e.created) >= watermark;

  const waitForContact = async (customerId: string, receivedAt: number, payload: EachBatchPayload) => {
    const deadline = receivedAt + opts.contactWaitMs;
    for (;;) {
      const pushed = (await opts.state.loadPushed([customerId])).get(customerId);
      if (pushed !== undefined || opts.clock.now() >= deadline) return true;
      const [row] = opts.source ? await opts.source.byIds([customerId]) : [];
      if (row !== undefined && desiredContact(row, opts.config).kind !== "contact") return true;
      if (!payload.isRunning() || payload.isStale()) return false;
      await payload.heartbeat();
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(1, deadline - opts.clock.now()))));
    }
  };

  const eachBatch = async (payload: EachBatchPayload) => {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const commit = (offset: string) =>
      consumer?.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(offset) + 1n).toString() },
      ]);
    let uncommitted: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      report.records++;
      const decoded = await decode(message.value);
      let ledger = false;
      if (!decoded.ok) {
        report.undecodable++;
        logger.warn({ partition: batch.partition, offset: message.offset, reason: decoded.reason }, "record skipped");
      } else if (!candidate(decoded.envelope)) {
        report.skipped++;
      } else {
        const mapped = envelopeToSinkEvent(decoded.envelope);
        const decision = mapped.ok ? decideEvent(mapped.event, opts.config, watermark) : undefined;
        if (!mapped.ok || decision?.send === false) {
          report.skipped++;
          const reason = mapped.ok ? (decision?.send === false ? decision.reason : "") : mapped.reason;
          logger.debug({ eventId: decoded.envelope.event_id, reason }, "event skipped");
        } else {
          const receivedAt = Number((decoded.envelope as { received_at?: unknown }).received_at ?? 0);
          // A guest's contact is made when its event is sent: nothing to wait for.
          if (
            mapped.event.guestEmail === undefined &&
            !(await waitForContact(mapped.event.customerId, receivedAt, payload))
          )
            break;
          await sendEvents(opts, [mapped.event], watermark, report, {
            ...(opts.onEventSent ? { onEventSent: opts.onEventSent } : {}),
          });
          ledger = true;
        }
      }
      resolveOffset(message.offset);
      uncommitted = message.offset;
      // The ledger holds this record's outcome: its offset may move now.
      if (ledger) {
        await commit(message.offset);
        uncommitted = undefined;
      }
      await heartbeat();
    }
    if (uncommitted !== undefined) await commit(uncommitted);
  };

  let stopped = false;
  let relaunch: NodeJS.Timeout | undefined;
  let crashes = 0;
  /** The wait before the next new consumer: doubles with every crash since the last group join. */
  const backoffMs = () => RELAUNCH_MS * 2 ** Math.min(crashes++, 5);

  const launch = async () => {
    const c = opts.kafka.consumer({
      groupId: opts.groupId,
      ...(opts.sessionTimeoutMs ? { sessionTimeout: opts.sessionTimeoutMs } : {}),
    });
    consumer = c;
    c.on(c.events.GROUP_JOIN, () => {
      crashes = 0;
    });
    // kafkajs gives up for good on an error it calls non-retriable, e.g. "the coordinator is not
    // aware of this member" after a pause outlived the session (it wraps the error, so its own
    // re-join path misses it). The sink would go on pushing contacts and never send another
    // event (seen in the chaos soak). A new consumer resumes from the committed offsets; the
    // ledger makes whatever it reads again a no-op.
    c.on(c.events.CRASH, ({ payload }) => {
      if (payload.restart || stopped) return;
      const delayMs = backoffMs();
      report.relaunches++;
      logger.error({ err: payload.error, delayMs }, "events consumer crashed and kafkajs gave up; starting a new one");
      scheduleLaunch(delayMs);
    });
    await c.connect();
    // A new group starts at the beginning: the watermark and `source`, not the offset, decide
    // what is history, so nothing delivered between the sink's first run and now is missed.
    await c.subscribe({ topics: [opts.topic], fromBeginning: true });
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch });
  };

  const scheduleLaunch = (delayMs: number) => {
    relaunch = setTimeout(() => {
      relaunch = undefined;
      if (stopped) return;
      launch().catch((error: unknown) => {
        logger.error({ err: error }, "starting the events consumer again failed; trying later");
        if (!stopped) scheduleLaunch(backoffMs());
      });
    }, delayMs);
  };

  return {
    report,
    async start() {
      stopped = false;
      watermark = await eventsWatermark(opts);
      await launch();
      logger.info({ topic: opts.topic, groupId: opts.groupId, watermark }, "events consumer started");
    },
    async stop() {
      stopped = true;
      if (relaunch !== undefined) clearTimeout(relaunch);
      await consumer?.disconnect();
      consumer = undefined;
    },
  };
}
