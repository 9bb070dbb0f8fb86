import { describe, expect, it } from "vitest";
import { backoffDelay, retry } from "./retry.ts";

describe("retry", () => {
  it("retries retriable failures until success", async () => {
    let calls = 0;
    const result = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new Error("transient");
        return "ok";
      },
      { attempts: 5, baseDelayMs: 1, retriable: () => true },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
  });

  it("gives up at once on a non-retriable error, and after the last attempt otherwise", async () => {
    let calls = 0;
    const fail = async () => {
      calls++;
      throw new Error("nope");
    };
    await expect(retry(fail, { attempts: 5, baseDelayMs: 1, retriable: () => false })).rejects.toThrow("nope");
    expect(calls).toBe(1);
    calls = 0;
    await expect(retry(fail, { attempts: 3, baseDelayMs: 1, retriable: () => true })).rejects.toThrow("nope");
    expect(calls).toBe(3);
  });

  it.each([
    [0, 1, 100],
    [1, 1, 200],
    [3, 1, 800],
    [10, 1, 5000],
    [3, 0, 0],
  ])("backoff after attempt %i with random=%f is %i ms (base 100, cap 5000)", (attempt, random, expected) => {
    expect(backoffDelay(attempt, { baseDelayMs: 100, maxDelayMs: 5000, random: () => random })).toBe(expected);
  });
});
