import type { Clock } from "./clock.ts";

export interface RateLimiterOptions {
  /** Requests per second the client allows itself (below the plan's limit). */
  readonly perSecond: number;
  readonly perHour: number;
  readonly clock: Clock;
  readonly random?: () => number;
  /** Upper bound of the jitter added after a 429. */
  readonly maxJitterMs?: number;
}

export interface RateLimiter {
  /** Resolves when one more request may start; reserves it. */
  acquire(): Promise<void>;
  /** Reads x-sib-ratelimit-remaining/-reset: at 0 remaining, holds every request until the reset. */
  observe(headers: { get(name: string): string | null }): void;
  /** After a 429: hold every request for the reset (seconds, from the header) plus jitter. */
  throttled(resetSeconds: number | undefined): void;
  readonly stats: { waits: number; waitedMs: number; throttles: number };
}

/**
 * Requests are paced evenly (one every 1/perSecond s), inside sliding windows of one second and
 * one hour over our own start times, plus a block the server can impose through its headers or
 * a 429. Pacing instead of bursting matters: requests started in one burst reach Brevo with
 * different latencies, and a burst at the end of one window plus one at the start of the next
 * looks like too many in one second from Brevo's side.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { clock, perSecond, perHour } = options;
  const random = options.random ?? Math.random;
  const starts: number[] = [];
  let head = 0; // starts[head..] are within the last hour
  let blockedUntil = 0;
  const stats = { waits: 0, waitedMs: 0, throttles: 0 };

  const waitFor = (t: number): number => {
    while (head < starts.length && (starts[head] ?? 0) <= t - 3_600_000) head++;
    if (head > 10_000) {
      starts.splice(0, head);
      head = 0;
    }
    if (t < blockedUntil) return blockedUntil - t;
    const last = starts[starts.length - 1];
    if (last !== undefined && t - last < 1000 / perSecond) return last + 1000 / perSecond - t;
    const count = starts.length - head;
    if (count >= perHour) return (starts[starts.length - perHour] ?? t) + 3_600_000 - t;
    const secondAgo = starts[starts.length - perSecond];
    if (count >= perSecond && secondAgo !== undefined && secondAgo > t - 1000) return secondAgo + 1000 - t;
    return 0;
  };

  return {
    stats,
    async acquire() {
      for (;;) {
        const t = clock.now();
        const wait = waitFor(t);
        if (wait <= 0) {
          starts.push(t);
          return;
        }
        stats.waits++;
        stats.waitedMs += wait;
        await clock.sleep(wait);
      }
    },
    observe(headers) {
      const remaining = Number(headers.get("x-sib-ratelimit-remaining") ?? Number.NaN);
      const reset = Number(headers.get("x-sib-ratelimit-reset") ?? Number.NaN);
      if (remaining <= 0 && Number.isFinite(reset)) blockedUntil = Math.max(blockedUntil, clock.now() + reset * 1000);
    },
    throttled(resetSeconds) {
      stats.throttles++;
      // No Retry-After from Brevo: the reset header, else one second; jitter spreads the restart.
      const base = (resetSeconds !== undefined && Number.isFinite(resetSeconds) ? resetSeconds : 1) * 1000;
      const jitter = random() * (options.maxJitterMs ?? 1000);
      blockedUntil = Math.max(blockedUntil, clock.now() + base + jitter);
    },
  };
}
