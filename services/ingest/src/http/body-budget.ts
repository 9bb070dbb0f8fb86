/**
 * A process-wide budget of webhook body bytes held in memory: buffered while they arrive and kept
 * until the answer is sent (so it bounds in-flight bodies too). The per-request size cap alone
 * does not bound memory: 1,000 connections that each send 1 MiB − 1 byte and stall hold 1 GB.
 *
 * Large bodies (declared above `largeBodyBytes`, or of unknown length) may use only part of the
 * budget, so an attack made of big stalled bodies leaves room for Stripe's usual few-KB events.
 */
export interface BodyBudget {
  /** Takes `bytes` if they fit; false means "answer 503 overloaded". */
  tryTake(bytes: number, large: boolean): boolean;
  give(bytes: number, large: boolean): void;
  readonly used: number;
  readonly limit: number;
}

export interface BodyBudgetConfig {
  limitBytes: number;
  /** Bodies larger than this count as large. */
  largeBodyBytes: number;
  /** Share of the budget large bodies may hold together (0–1). */
  largeShare: number;
}

export function createBodyBudget(config: BodyBudgetConfig): BodyBudget {
  const largeLimit = Math.floor(config.limitBytes * config.largeShare);
  let used = 0;
  let largeUsed = 0;
  return {
    tryTake(bytes, large) {
      if (used + bytes > config.limitBytes) return false;
      if (large && largeUsed + bytes > largeLimit) return false;
      used += bytes;
      if (large) largeUsed += bytes;
      return true;
    },
    give(bytes, large) {
      used -= bytes;
      if (large) largeUsed -= bytes;
    },
    get used() {
      return used;
    },
    limit: config.limitBytes,
  };
}
