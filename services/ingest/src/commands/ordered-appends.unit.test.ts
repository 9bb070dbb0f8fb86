import { describe, expect, it } from "vitest";
import { createOrderedAppends } from "./ordered-appends.ts";

const later = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("createOrderedAppends", () => {
  it("commits in submission order even when acknowledgements arrive out of order", async () => {
    const committed: number[] = [];
    const appends = createOrderedAppends<number>({ concurrency: 4, onCommit: (n) => committed.push(n) });
    const delays = [30, 5, 20, 1, 10, 1, 25, 2];
    for (const [n, ms] of delays.entries()) await appends.push(n, () => later(ms));
    await appends.drain();
    expect(committed).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("never runs more than `concurrency` appends at once", async () => {
    let running = 0;
    let peak = 0;
    const appends = createOrderedAppends<number>({ concurrency: 3, onCommit: () => undefined });
    for (let n = 0; n < 12; n++) {
      await appends.push(n, async () => {
        running++;
        peak = Math.max(peak, running);
        await later(2);
        running--;
      });
    }
    await appends.drain();
    expect(peak).toBe(3);
  });

  it("stops committing at the first failure, even past later acknowledgements", async () => {
    const committed: number[] = [];
    const appends = createOrderedAppends<number>({ concurrency: 4, onCommit: (n) => committed.push(n) });
    for (let n = 0; n < 6; n++) {
      await appends.push(n, async () => {
        await later(n === 2 ? 10 : 1);
        if (n === 2) throw new Error("broker down");
      });
      if (appends.failure) break;
    }
    await expect(appends.drain()).rejects.toThrow("broker down");
    expect(committed).toEqual([0, 1]);
  });
});
