import type { StripeEventObject } from "@sbs/cli/demo/history";
import { computeSignature } from "@sbs/ingest/signature";
import { type DeliveryStats, emptyStats, paceAt, retryDelayMs } from "./delivery-model.ts";

/**
 * Delivers a planned queue to ingest the way Stripe does: each body signed at send time,
 * `concurrency` requests in flight, paced so the queue spans `spanMs`, and every delivery that did
 * not get a 2xx (any status, a timeout, a refused connection) retried with backoff until it does.
 * Stripe retries for three days; the harness retries until `giveUpAfterMs`, then reports the id as
 * unacknowledged (it never counts for oracle A, which only holds 2xx'd ids to account).
 */
export interface DeliveryOptions {
  readonly url: () => string;
  readonly secret: string;
  readonly concurrency: number;
  readonly spanMs: number;
  readonly requestTimeoutMs: number;
  readonly giveUpAfterMs: number;
  readonly random: () => number;
}

export interface Delivery {
  readonly stats: DeliveryStats;
  /** Event ids that got a 2xx (at least once). */
  readonly acked: Set<string>;
  readonly done: Promise<void>;
  /** Deliveries finished (2xx or given up) so far. */
  finished(): number;
}

export function startDelivery(queue: readonly StripeEventObject[], o: DeliveryOptions): Delivery {
  const stats = emptyStats(queue.length);
  const acked = new Set<string>();
  const started = Date.now();
  let next = 0;
  let finished = 0;

  const attempt = async (body: string): Promise<number | "error"> => {
    const t = Math.floor(Date.now() / 1000);
    const v1 = computeSignature(Buffer.from(body), t, o.secret).toString("hex");
    try {
      const res = await fetch(o.url(), {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": `t=${t},v1=${v1}` },
        body,
        signal: AbortSignal.timeout(o.requestTimeoutMs),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return "error";
    }
  };

  const deliverOne = async (event: StripeEventObject) => {
    const body = JSON.stringify(event, null, 2);
    const deadline = Date.now() + o.giveUpAfterMs;
    for (let n = 0; ; n++) {
      stats.attempts++;
      const status = await attempt(body);
      if (typeof status === "number" && status >= 200 && status < 300) {
        stats.ok++;
        acked.add(event.id);
        return;
      }
      if (status === "error") stats.networkErrors++;
      else if (status === 503) stats.status503++;
      else stats.otherStatus[String(status)] = (stats.otherStatus[String(status)] ?? 0) + 1;
      if (Date.now() > deadline) {
        stats.unacked.push(event.id);
        return;
      }
      stats.retries++;
      await new Promise((r) => setTimeout(r, retryDelayMs(n, o.random)));
    }
  };

  const worker = async () => {
    while (next < queue.length) {
      const i = next++;
      const wait = paceAt(i, queue.length, o.spanMs) - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await deliverOne(queue[i] as StripeEventObject);
      finished++;
    }
  };
  const done = Promise.all(Array.from({ length: o.concurrency }, worker)).then(() => {
    stats.durationMs = Date.now() - started;
  });
  return { stats, acked, done, finished: () => finished };
}
