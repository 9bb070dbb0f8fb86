/**
 * Preloaded into the projector processes the bench starts
 * (`node --max-semi-space-size=64 --import tsx --import ./bench/probe.ts src/main.ts`): main.ts runs
 * unchanged, this only measures. Each SIGUSR2 marks a moment (the bench sends one at the first
 * commit it sees and one when all events are committed); on exit it writes one line to stderr,
 * `PROBE_PREFIX` + JSON, with the event loop, GC pauses and apply phases between the first two marks.
 */
import { writeSync } from "node:fs";
import { type EventLoopUtilization, PerformanceObserver, performance } from "node:perf_hooks";
import { applyPhaseMs } from "../src/projection/apply-events.ts";

export const PROBE_PREFIX = "@@projector-bench-probe ";

export interface ProbeReport {
  /** False when fewer than one mark arrived (nothing was timed). */
  readonly timed: boolean;
  readonly idleSeconds: number;
  readonly busySeconds: number;
  readonly gcSeconds: number;
  /** applyPhaseMs between the marks (ms summed over batches; "batches", "events", "customers derived" are counts). */
  readonly phases: Record<string, number>;
}

interface Mark {
  readonly loop: EventLoopUtilization;
  readonly gcMs: number;
  readonly phases: Record<string, number>;
}

// Only when preloaded into a projector, not when the bench imports the names above.
if (process.env["PROJECTOR_BENCH_PROBE"] === "1") {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  const mark = (): Mark => ({ loop: performance.eventLoopUtilization(), gcMs, phases: { ...applyPhaseMs } });
  const marks: Mark[] = [];
  process.on("SIGUSR2", () => {
    marks.push(mark());
  });
  process.on("exit", () => {
    const from = marks[0];
    const to = marks[1] ?? mark();
    const loop = from ? performance.eventLoopUtilization(to.loop, from.loop) : undefined;
    const report: ProbeReport = {
      timed: from !== undefined,
      idleSeconds: (loop?.idle ?? 0) / 1000,
      busySeconds: (loop?.active ?? 0) / 1000,
      gcSeconds: (to.gcMs - (from?.gcMs ?? to.gcMs)) / 1000,
      // A phase no batch had reached by the first mark started from zero (an instance whose first
      // batch was still loading reported every later phase as 0 when it counted from itself).
      phases: Object.fromEntries(Object.entries(to.phases).map(([k, v]) => [k, v - (from?.phases[k] ?? 0)] as const)),
    };
    writeSync(2, `${PROBE_PREFIX}${JSON.stringify(report)}\n`);
  });
}
