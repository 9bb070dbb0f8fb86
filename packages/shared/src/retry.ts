export interface RetryOptions {
  attempts: number;
  /** First delay; each later one doubles, with full jitter, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs?: number;
  retriable: (error: unknown) => boolean;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

/** Exponential backoff with full jitter (delay = random(0, min(cap, base·2^n))). */
export function backoffDelay(
  attempt: number,
  opts: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs" | "random">,
): number {
  const ceiling = Math.min(opts.maxDelayMs ?? 30_000, opts.baseDelayMs * 2 ** attempt);
  return Math.round((opts.random ?? Math.random)() * ceiling);
}

/** Runs `fn` until it succeeds, the error is not retriable, or the attempts are used up. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt + 1 >= opts.attempts || !opts.retriable(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, opts)));
    }
  }
}
