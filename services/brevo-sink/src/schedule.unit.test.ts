import { describe, expect, it } from "vitest";
import { createMemorySinkState } from "./adapters/memory-sink-state.ts";
import { createMemoryProjectionSource } from "./adapters/projection-source.ts";
import { planPass, resyncDone } from "./schedule.ts";

const HOUR = 3600_000;

describe("resync schedule (kept in the sink's state)", () => {
  it("a sink restarted every hour still resyncs every 6 hours", async () => {
    const state = createMemorySinkState();
    const source = createMemoryProjectionSource();
    const modes: string[] = [];
    // Each hour a new process: nothing in memory survives, only `state`.
    for (let hour = 0; hour <= 12; hour++) {
      const plan = await planPass(state, source, hour * HOUR, 6 * HOUR);
      modes.push(plan.mode);
      if (plan.mode === "resync") await resyncDone(state, plan, hour * HOUR, undefined);
    }
    expect(modes.map((m, h) => (m === "resync" ? h : -1)).filter((h) => h >= 0)).toEqual([6, 12]);
  });

  it("resyncs when the projection's live generation changes, once", async () => {
    const state = createMemorySinkState();
    const source = createMemoryProjectionSource();
    source.setGeneration("1");
    const first = await planPass(state, source, 0, 6 * HOUR);
    expect(first).toMatchObject({ mode: "resync", why: "generation" });
    await resyncDone(state, first, 0, undefined);
    expect((await planPass(state, source, 1000, 6 * HOUR)).mode).toBe("incremental");
    source.setGeneration("2"); // a rebuild switched in
    const after = await planPass(state, source, 2000, 6 * HOUR);
    expect(after).toMatchObject({ mode: "resync", why: "generation", generation: "2" });
    // A resync that did not complete is tried again.
    expect((await planPass(state, source, 3000, 6 * HOUR)).mode).toBe("resync");
    await resyncDone(state, after, 3000, undefined);
    expect((await planPass(state, source, 4000, 6 * HOUR)).mode).toBe("incremental");
  });
});
