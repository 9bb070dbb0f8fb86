import { describe, expect, it } from "vitest";
import type { Clock } from "./clock.ts";
import { createRateLimiter } from "./rate-limiter.ts";

/** A clock that only moves when someone sleeps: waits are measured, not spent. */
function virtualClock(): Clock & { slept: number } {
  let t = 1_000_000;
  const clock = {
    slept: 0,
    now: () => t,
    sleep: async (ms: number) => {
      clock.slept += ms;
      t += ms;
    },
  };
  return clock;
}

const headers = (h: Record<string, string>) => ({ get: (name: string) => h[name] ?? null });

describe("client-side rate limiter", () => {
  it("never starts more than perSecond requests in any second", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 9, perHour: 1_000_000, clock });
    const starts: number[] = [];
    for (let i = 0; i < 90; i++) {
      await limiter.acquire();
      starts.push(clock.now());
    }
    for (let i = 9; i < starts.length; i++)
      expect((starts[i] ?? 0) - (starts[i - 9] ?? 0)).toBeGreaterThanOrEqual(1000);
    // Paced, not bursted: 90 requests at 9/s start 1/9 s apart → 89/9 s.
    for (let i = 1; i < starts.length; i++) expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeCloseTo(1000 / 9);
    expect(clock.slept).toBeCloseTo((89 * 1000) / 9);
  });

  it("holds the hourly budget too", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 1000, perHour: 50, clock });
    for (let i = 0; i < 51; i++) await limiter.acquire();
    // 50 paced 1 ms apart, then the 51st waits until the first leaves the hour.
    expect(clock.slept).toBe(3_600_000);
  });

  it("stops at remaining 0 until the reset the headers announce", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 1e9, perHour: 1e9, clock });
    limiter.observe(headers({ "x-sib-ratelimit-remaining": "0", "x-sib-ratelimit-reset": "3" }));
    await limiter.acquire();
    expect(clock.slept).toBeCloseTo(3000, 3);
    limiter.observe(headers({ "x-sib-ratelimit-remaining": "5", "x-sib-ratelimit-reset": "3" }));
    await limiter.acquire();
    expect(clock.slept).toBeCloseTo(3000, 3);
  });

  it("after a 429 waits for the reset plus jitter, one second when no reset is given", async () => {
    const clock = virtualClock();
    const limiter = createRateLimiter({ perSecond: 1e9, perHour: 1e9, clock, random: () => 0.5, maxJitterMs: 1000 });
    limiter.throttled(2);
    await limiter.acquire();
    expect(clock.slept).toBeCloseTo(2500, 3);
    limiter.throttled(undefined);
    await limiter.acquire();
    expect(clock.slept).toBeCloseTo(2500 + 1500, 3);
    expect(limiter.stats.throttles).toBe(2);
  });
});
