import { describe, expect, it } from "vitest";
import type { Clock } from "./clock.ts";
import { createRateLimiter } from "./rate-limiter.ts";

/** A virtual clock: sleeping advances time at once, so a minute of limiting runs in microseconds. */
function virtualClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

async function startTimes(limiterRate: number, requests: number, clock: Clock & { now(): number }): Promise<number[]> {
  const limiter = createRateLimiter({ requestsPerSecond: limiterRate, clock });
  const times: number[] = [];
  // All requested at once, as a burst of concurrent callers would.
  await Promise.all(Array.from({ length: requests }, () => limiter.acquire().then(() => times.push(clock.now()))));
  return times;
}

/** The most starts seen in any window of `windowMs`. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let max = 0;
  for (let i = 0; i < times.length; i++) {
    const start = times[i] ?? 0;
    max = Math.max(max, times.filter((t) => t >= start && t < start + windowMs).length);
  }
  return max;
}

describe("createRateLimiter", () => {
  it.each([1, 10, 20, 25])("never starts more than %i requests in any second", async (rate) => {
    const clock = virtualClock();
    const times = await startTimes(rate, rate * 5 + 1, clock);
    expect(maxInWindow(times, 1000)).toBe(rate);
    // And it does not throttle harder than asked: 5 full windows, then the last one.
    expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBe(5000);
  });

  it("spreads a fractional rate without bursting above it", async () => {
    const clock = virtualClock();
    const times = await startTimes(2.5, 26, clock);
    expect(maxInWindow(times, 800)).toBe(2);
    expect(maxInWindow(times, 4000)).toBeLessThanOrEqual(10);
  });

  it("does not wait while under the limit", async () => {
    const clock = virtualClock();
    await startTimes(20, 20, clock);
    expect(clock.slept).toEqual([]);
  });

  it("applies a new rate to later acquisitions", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ requestsPerSecond: 100, clock });
    limiter.setRate(4);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await limiter.acquire();
      times.push(clock.now());
    }
    expect(maxInWindow(times, 1000)).toBe(4);
    expect(limiter.requestsPerSecond).toBe(4);
  });

  it("refuses a non-positive rate", () => {
    expect(() => createRateLimiter({ requestsPerSecond: 0, clock: virtualClock() })).toThrow(RangeError);
  });
});
