/**
 * When a contact Brevo keeps refusing (or that keeps timing out) is tried again. The first
 * PARK_AFTER attempts are retried on every pass (a collision often clears as soon as the other
 * customer's change lands); after that the wait doubles per attempt, capped at a day, so a
 * permanent refusal costs a handful of calls a day instead of one per pass. A change of the
 * customer's projection row pushes it again regardless (it comes through the change feed).
 */
export const PARK_AFTER = 3;
const FIRST_WAIT_MS = 60_000;
const MAX_WAIT_MS = 24 * 3600_000;

/** Delay before the next retry, given how many attempts have failed so far (1 = first failure). */
export function retryDelayMs(attempts: number): number {
  if (attempts < PARK_AFTER) return 0;
  return Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (attempts - PARK_AFTER));
}
