import { AppError, createLogger } from "@sbs/shared";
import { describe, expect, it } from "vitest";
import type { Clock } from "./adapters/clock.ts";
import type { Leadership } from "./leader.ts";
import { createPassLoop } from "./pass-loop.ts";

const logger = createLogger({ service: "pass-loop-test", level: "silent" });

/** A lock two instances share, as the advisory lock + lease would be. */
function sharedLock() {
  let holder: string | undefined;
  let epoch = 0;
  return (name: string): Leadership & { readonly holds: () => boolean } => ({
    async lead() {
      if (holder === undefined) {
        holder = name;
        epoch++;
      }
      return holder === name ? epoch : undefined;
    },
    async release() {
      if (holder === name) holder = undefined;
    },
    holds: () => holder === name,
  });
}

describe("pass loop: fatal errors", () => {
  it("a 403 once: the leader releases the lead at once, /healthz says fatal, a standby takes over, it resumes later", async () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const lock = sharedLock();
    const a = lock("a");
    const b = lock("b");
    let failOnce = true;
    const passes: string[] = [];
    const loop = (name: string, leadership: Leadership) =>
      createPassLoop({
        leadership,
        clock,
        logger,
        intervalMs: 1000,
        fatalBackoffMs: 60_000,
        fatalBackoffMaxMs: 3600_000,
        runPass: async () => {
          if (name === "a" && failOnce) {
            failOnce = false;
            throw new AppError("brevo_refused", "PUT /contacts: HTTP 403 permission_denied");
          }
          passes.push(name);
        },
      });
    const la = loop("a", a);
    const lb = loop("b", b);
    await la.tick();
    expect(la.health().status).toBe("fatal");
    expect(la.health().fatal?.message).toMatch(/403/);
    expect(a.holds()).toBe(false); // the lock is not kept by a stopped pusher
    await lb.tick();
    expect(passes).toEqual(["b"]);
    await b.release();
    // Within the backoff, a stays off the lead even when it is free.
    now = 30_000;
    await la.tick();
    expect(a.holds()).toBe(false);
    now = 61_000;
    await la.tick();
    expect(passes).toEqual(["b", "a"]);
    expect(la.health().status).toBe("leading");
    expect(la.health().fatal).toBeUndefined();
  });

  it("with exit on fatal: releases the lead, then calls onFatal (main exits 1)", async () => {
    const a = sharedLock()("a");
    const fatal: unknown[] = [];
    const loop = createPassLoop({
      leadership: a,
      clock: { now: () => 0, sleep: async () => {} },
      logger,
      intervalMs: 1000,
      fatalBackoffMs: 1,
      fatalBackoffMaxMs: 1,
      onFatal: (e) => fatal.push(e),
      runPass: async () => {
        throw new AppError("brevo_refused", "HTTP 401");
      },
    });
    await loop.tick();
    expect(fatal).toHaveLength(1);
    expect(a.holds()).toBe(false);
    expect(loop.health().status).toBe("fatal");
  });
});
