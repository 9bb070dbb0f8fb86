import { AppError, createLogThrottle, type Logger } from "@sbs/shared";
import type { EventLog } from "../adapters/event-log.ts";
import { parseStripeEvent } from "../domain/envelope.ts";
import { toAppendRecord } from "../domain/record.ts";
import type { TopicConfig } from "../domain/routing.ts";
import { type SignatureConfig, verifyStripeSignature } from "../domain/signature.ts";
import type { IngestMetrics } from "../metrics.ts";

export interface WebhookDeps {
  signature: SignatureConfig;
  topics: TopicConfig;
  eventLog: Pick<EventLog, "append">;
  metrics: IngestMetrics;
  logger: Logger;
  /** Epoch milliseconds; injected so tests control the signature window. */
  now: () => number;
}

export interface WebhookResponse {
  status: number;
  /** Reason code on rejection; never echoes the request, a secret or a signature. */
  body: { received: true; stored: boolean } | { error: string };
}

// One warning per failure code per second: under overload every request fails the same way,
// and a flood of junk must not become a disk or log-pipeline problem. /metrics counts every one.
const notStoredLog = createLogThrottle(1000);
const rejectedLog = createLogThrottle(1000);

const STORED: WebhookResponse = { status: 200, body: { received: true, stored: true } };
const NOT_STORED: WebhookResponse = { status: 200, body: { received: true, stored: false } };

/**
 * What Stripe is told, by failure class: 4xx only when the request itself is bad (Stripe will not
 * fix it by retrying), 5xx only when we could not store the event (Stripe retries for days).
 */
export async function handleWebhook(
  signatureHeader: string | string[] | undefined,
  body: Buffer,
  deps: WebhookDeps,
): Promise<WebhookResponse> {
  const receivedAt = deps.now();
  const verified = verifyStripeSignature(body, signatureHeader, deps.signature, { now: deps.now });
  if (!verified.ok) return reject(deps, 400, verified.reason);

  const parsed = parseStripeEvent(body);
  if (!parsed.ok) return reject(deps, 400, parsed.reason, "message" in parsed ? parsed.message : undefined);
  const { event, payload } = parsed;
  const log = { eventId: event.id, type: event.type, verifiedBy: verified.secretName };

  const routed =
    parsed.kind === "keyed"
      ? toAppendRecord(event, payload, {
          topics: deps.topics,
          receivedAt,
          provenance: { source: "webhook", verifiedBy: verified.secretName },
        })
      : ({ ok: false, reason: "unkeyed" } as const);
  if (!routed.ok) {
    // invoice.upcoming and friends describe no stored object: nothing to key, nothing to fold.
    deps.logger.info(log, "event has no object id; acknowledged without storing");
    deps.metrics.accepted.inc({ type: event.type, outcome: "not_stored" });
    return NOT_STORED;
  }

  try {
    await deps.eventLog.append(routed.record);
  } catch (error) {
    const code = error instanceof AppError ? error.code : "kafka_unavailable";
    notStoredLog(code, (suppressed) =>
      deps.logger.warn({ ...log, code, suppressed }, "event not stored; answering 503 so Stripe retries"),
    );
    deps.metrics.rejected.inc({ reason: code });
    return { status: 503, body: { error: code } };
  }
  deps.metrics.accepted.inc({ type: event.type, outcome: "stored" });
  return STORED;
}

/**
 * Counts a rejection (exactly, in /metrics) and logs it (at most one line per reason per second,
 * with how many were suppressed since the last line). `detail` says what was wrong, never echoes input.
 */
export function reject(
  deps: Pick<WebhookDeps, "metrics" | "logger">,
  status: number,
  reason: string,
  detail?: string,
): WebhookResponse {
  deps.metrics.rejected.inc({ reason });
  rejectedLog(reason, (suppressed) =>
    deps.logger.warn({ status, reason, ...(detail ? { detail } : {}), suppressed }, "request rejected"),
  );
  return { status, body: { error: reason } };
}
