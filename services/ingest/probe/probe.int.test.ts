import { testStack } from "@sbs/shared/testing";
import { describe, expect, it } from "vitest";
import { formatProbe, runProbe } from "./run-probe.ts";

/**
 * The security probe, small: every bad-input class, a slow-body attack and a junk flood against a
 * real ingest process. `pnpm --filter @sbs/ingest probe` runs the full size (1,000 connections).
 */
const stack = testStack();
const RSS_BUDGET = 256 * 1024 * 1024;

describe("security probe (small)", () => {
  it("stores nothing bad, bounds memory under stalled bodies, keeps serving Stripe, keeps logs quiet", async () => {
    const result = await runProbe({
      kafkaBrokers: stack.kafkaBrokers,
      schemaRegistryUrl: stack.schemaRegistryUrl,
      perClass: 3,
      attackConnections: 100,
      legitDuringAttack: 20,
      floodRequests: 400,
      rssBudgetBytes: RSS_BUDGET,
      // Short limits so the attack is cut within the test's time; the logic is the same.
      ingestEnv: {
        HTTP_REQUEST_TIMEOUT_MS: "4000",
        HTTP_HEADERS_TIMEOUT_MS: "2000",
        HTTP_BODY_RATE_WINDOW_MS: "1000",
      },
    });
    console.log(formatProbe(result, RSS_BUDGET));

    expect(result.classes.length).toBeGreaterThanOrEqual(20);
    for (const c of result.classes) {
      expect(c.stored, c.name).toBe(0);
      expect(c.statuses, c.name).toEqual({ [String(c.expected)]: 3 });
    }
    const a = result.attack;
    expect(Object.values(a.answers).reduce((x, y) => x + y, 0)).toBe(a.connections);
    expect(a.maxHeldMs).toBeLessThan(4000 + 2000);
    expect(a.peakRssBytes - a.idleRssBytes).toBeLessThan(RSS_BUDGET);
    expect(a.legitOk).toBe(a.legitSent);
    expect(a.stored).toBe(a.legitOk);
    expect(result.flood.stored).toBe(0);
    expect(result.flood.statuses).toEqual({ "400": 400 });
    // One line per reason per second at most (two reasons), not one per request.
    expect(result.flood.logLines).toBeLessThanOrEqual(2 * (Math.ceil(result.flood.ms / 1000) + 1));
    expect(result.flood.counted).toBeGreaterThanOrEqual(400);
  }, 90_000);
});
