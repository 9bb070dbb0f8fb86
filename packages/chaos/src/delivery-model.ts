import { backoffDelay } from "@sbs/shared";

/** The pure half of the Stripe-like deliverer (delivery.ts): pacing, backoff and the figures kept. */

export interface DeliveryStats {
  /** Deliveries planned: every event once, plus the duplicates. */
  readonly planned: number;
  attempts: number;
  /** Attempts answered 2xx. */
  ok: number;
  status503: number;
  /** Other non-2xx answers by status (a 4xx for a correctly signed event would be a bug). */
  otherStatus: Record<string, number>;
  /** Timeouts and refused or reset connections (a killed ingest). */
  networkErrors: number;
  retries: number;
  /** Event ids that got no 2xx before the harness gave up. */
  unacked: string[];
  durationMs: number;
}

export const emptyStats = (planned: number): DeliveryStats => ({
  planned,
  attempts: 0,
  ok: 0,
  status503: 0,
  otherStatus: {},
  networkErrors: 0,
  retries: 0,
  unacked: [],
  durationMs: 0,
});

/** When delivery `i` of `n` is due so the queue spans `spanMs` at an even rate. */
export const paceAt = (i: number, n: number, spanMs: number): number => (n <= 1 ? 0 : (i / n) * spanMs);

/**
 * The delay before retry `attempt`: the shared full-jitter backoff (so retries after an outage
 * spread out instead of arriving together), base 100 ms, cap 5 s, at least 50 ms. Stripe's own
 * schedule spans days; the harness compresses it to seconds.
 */
export const retryDelayMs = (attempt: number, random: () => number): number =>
  Math.max(50, backoffDelay(Math.min(attempt, 20), { baseDelayMs: 100, maxDelayMs: 5000, random }));
