import { computeSignature } from "@sbs/ingest/signature";
import type { StripeEventObject } from "./history.ts";

/**
 * Delivers events to a webhook endpoint the way Stripe does: signed bodies pretty-printed as
 * Stripe sends them, not in order (shuffled within a window), some delivered twice, and every
 * delivery that did not get a 2xx retried with backoff until it does or the attempts run out.
 */
export interface DeliveryOptions {
  url: string;
  secret: string;
  concurrency: number;
  /** Share of events delivered a second time (Stripe delivers at least once). */
  duplicateRate: number;
  /** Events are shuffled within windows of this many. */
  reorderWindow: number;
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to 5 s (Stripe's own schedule spans days). */
  retryBaseMs?: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DeliveryReport {
  events: number;
  deliveries: number;
  duplicates: number;
  retries: number;
  /** Event ids that never got a 2xx. */
  failed: string[];
}

/**
 * The order Stripe's deliveries arrive in: shuffled within windows of `reorderWindow`, and a share
 * `duplicateRate` delivered a second time, later than the first, anywhere after it. Pure and
 * deterministic for a seed (xorshift32), so a run can be replayed.
 */
export function deliveryOrder<T>(
  events: readonly T[],
  options: { reorderWindow: number; duplicateRate: number; seed: number },
): { queue: T[]; duplicates: number } {
  let state = options.seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
  const queue: T[] = [];
  for (let i = 0; i < events.length; i += options.reorderWindow) {
    const window = events.slice(i, i + options.reorderWindow);
    for (let j = window.length - 1; j > 0; j--) {
      const k = Math.floor(random() * (j + 1));
      [window[j], window[k]] = [window[k] as T, window[j] as T];
    }
    queue.push(...window);
  }
  // A duplicate goes right after the original or a later delivery: one pass, no splicing into a
  // queue of 200,000 (quadratic).
  const duplicated: T[][] = queue.map((e) => [e]);
  let duplicates = 0;
  for (let i = queue.length - 1; i >= 0; i--) {
    if (random() < options.duplicateRate) {
      const at = i + Math.floor(random() * (queue.length - i));
      duplicated[at]?.push(queue[i] as T);
      duplicates++;
    }
  }
  return { queue: duplicated.flat(), duplicates };
}

export async function deliver(events: readonly StripeEventObject[], options: DeliveryOptions): Promise<DeliveryReport> {
  const { queue, duplicates } = deliveryOrder(events, options);

  const report: DeliveryReport = {
    events: events.length,
    deliveries: queue.length,
    duplicates,
    retries: 0,
    failed: [],
  };
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < queue.length) {
      const event = queue[next++] as StripeEventObject;
      if (!(await deliverOne(event, options, () => report.retries++))) report.failed.push(event.id);
      options.onProgress?.(++done, queue.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return report;
}

async function deliverOne(event: StripeEventObject, options: DeliveryOptions, onRetry: () => void): Promise<boolean> {
  const body = JSON.stringify(event, null, 2);
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const t = Math.floor(Date.now() / 1000);
    const signature = computeSignature(Buffer.from(body), t, options.secret).toString("hex");
    try {
      const res = await fetch(options.url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": `t=${t},v1=${signature}` },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) return true;
      if (res.status >= 400 && res.status < 500) return false;
    } catch {
      // Network error or timeout: retried like a 5xx.
    }
    onRetry();
    await new Promise((resolve) => setTimeout(resolve, Math.min(5000, (options.retryBaseMs ?? 200) * 2 ** attempt)));
  }
  return false;
}
