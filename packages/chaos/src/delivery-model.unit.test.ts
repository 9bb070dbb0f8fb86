import { deliveryOrder } from "@sbs/cli/demo/deliver";
import { describe, expect, it } from "vitest";
import { paceAt, retryDelayMs } from "./delivery-model.ts";

describe("delivery model", () => {
  it("shuffles within windows only", () => {
    const events = Array.from({ length: 1000 }, (_, i) => i);
    const { queue } = deliveryOrder(events, { reorderWindow: 50, duplicateRate: 0, seed: 3 });
    expect(queue).not.toEqual(events);
    expect(queue.map((e) => Math.floor(e / 50))).toEqual(queue.map((_, i) => Math.floor(i / 50)));
  });

  it("delivers a share twice, the second time after the first", () => {
    const events = Array.from({ length: 1000 }, (_, i) => i);
    const { queue, duplicates } = deliveryOrder(events, { reorderWindow: 50, duplicateRate: 0.1, seed: 3 });
    expect(duplicates).toBeGreaterThan(50);
    expect(queue).toHaveLength(1000 + duplicates);
    expect(new Set(queue).size).toBe(1000);
    const first = new Map<number, number>();
    queue.forEach((e, i) => {
      const seen = first.get(e);
      if (seen === undefined) first.set(e, i);
      else expect(i).toBeGreaterThan(seen);
    });
  });

  it("is the same for a seed", () => {
    const o = { reorderWindow: 20, duplicateRate: 0.05, seed: 11 };
    expect(deliveryOrder([1, 2, 3, 4, 5, 6, 7, 8], o)).toEqual(deliveryOrder([1, 2, 3, 4, 5, 6, 7, 8], o));
  });

  it("paces evenly over the span", () => {
    expect(paceAt(0, 100, 10_000)).toBe(0);
    expect(paceAt(50, 100, 10_000)).toBe(5000);
    expect(paceAt(0, 1, 10_000)).toBe(0);
  });

  it("backs off with jitter up to a 5 s cap, never below 50 ms", () => {
    expect(retryDelayMs(0, () => 0)).toBe(50);
    expect(retryDelayMs(3, () => 0.999)).toBeLessThanOrEqual(800);
    expect(retryDelayMs(30, () => 0.999)).toBeLessThanOrEqual(5000);
    expect(retryDelayMs(30, () => 0.999)).toBeGreaterThan(4900);
  });
});
