import { describe, expect, it } from "vitest";
import type { Clock } from "./clock.ts";
import { createProgress, formatDuration, formatProgress } from "./progress.ts";

describe("formatProgress", () => {
  it.each([
    [{ label: "customers", count: 500, elapsedMs: 10_000 }, "customers: 500, 50.0/s, elapsed 0:10"],
    [{ label: "events", count: 50, total: 200, elapsedMs: 5_000 }, "events: 50/200, 10.0/s, ETA 0:15"],
    [{ label: "events", count: 200, total: 200, elapsedMs: 5_000 }, "events: 200/200, 40.0/s, elapsed 0:05"],
    [{ label: "events", count: 0, total: 10, elapsedMs: 0 }, "events: 0/10, 0.0/s, ETA unknown"],
    [
      { label: "charges", count: 100, already: 900, elapsedMs: 4_000 },
      "charges: 1000 (900 before resume), 25.0/s, elapsed 0:04",
    ],
  ])("%o → %s", (snapshot, line) => {
    expect(formatProgress(snapshot)).toBe(line);
  });

  it.each([
    [0, "0:00"],
    [59_400, "0:59"],
    [61_000, "1:01"],
    [3_723_000, "1:02:03"],
  ])("formatDuration(%i) = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("createProgress", () => {
  it("prints at most once per interval, and a final line", () => {
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async () => undefined };
    const lines: string[] = [];
    const progress = createProgress({ label: "x", clock, write: { write: (t) => lines.push(t) }, intervalMs: 1000 });
    for (let i = 0; i < 30; i++) {
      now += 100;
      progress.advance();
    }
    progress.finish(", done");
    expect(lines).toEqual([
      "x: 10, 10.0/s, elapsed 0:01\n",
      "x: 20, 10.0/s, elapsed 0:02\n",
      "x: 30, 10.0/s, elapsed 0:03\n",
      "x: 30, 10.0/s, elapsed 0:03, done\n",
    ]);
  });
});
