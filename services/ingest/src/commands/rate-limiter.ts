import type { Clock } from "./clock.ts";

/**
 * Client-side limit on request starts: at most `limit` starts in any window of `windowMs`
 * (a sliding window log), so the rate stays under Stripe's per-second limits (live 100/s,
 * test 25/s) however the requests are spread. Waiters are served in arrival order, one at a
 * time, so a virtual clock in tests advances exactly as a real one would.
 */
export interface RateLimiter {
  /** Resolves when one more request may start. */
  acquire(): Promise<void>;
  /** Changes the rate for later acquisitions (the CLI's --rate). */
  setRate(requestsPerSecond: number): void;
  readonly requestsPerSecond: number;
}

/** Below the test-mode limit of 25/s, leaving room for the dashboard and other clients of the key. */
export const DEFAULT_REQUESTS_PER_SECOND = 20;

export function createRateLimiter(opts: { requestsPerSecond: number; clock: Clock }): RateLimiter {
  let rate = 0;
  let limit = 1;
  let windowMs = 1000;
  const setRate = (requestsPerSecond: number) => {
    if (!Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
      throw new RangeError(`requests per second must be a positive number, got ${requestsPerSecond}`);
    }
    rate = requestsPerSecond;
    // A fractional rate (2.5/s) becomes 2 starts per 800 ms: same average, no burst above it.
    limit = Math.max(1, Math.floor(requestsPerSecond));
    windowMs = (limit * 1000) / requestsPerSecond;
  };
  setRate(opts.requestsPerSecond);

  const starts: number[] = [];
  let queue: Promise<void> = Promise.resolve();

  const take = async (): Promise<void> => {
    for (;;) {
      const now = opts.clock.now();
      while (starts.length > 0 && (starts[0] ?? 0) <= now - windowMs) starts.shift();
      // After a rate decrease the log may hold more than the new limit: drop the oldest.
      while (starts.length > limit) starts.shift();
      const oldest = starts[0];
      if (starts.length < limit || oldest === undefined) {
        starts.push(now);
        return;
      }
      await opts.clock.sleep(oldest + windowMs - now);
    }
  };

  return {
    get requestsPerSecond() {
      return rate;
    },
    setRate,
    acquire() {
      const turn = queue.then(take);
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
}
