import { describe, expect, it } from "vitest";
import { countByKind, type FaultEntry, faultSchedule, type ScheduleOptions } from "./schedule.ts";

const FULL: ScheduleOptions = {
  seed: 7,
  durationMs: 900_000,
  warmupMs: 15_000,
  kills: 20,
  instances: { ingest: 1, projector: 2, sink: 2 },
  stops: 3,
  sessionTimeoutMs: { projector: 10_000, sink: 30_000 },
  brokerKills: 3,
  postgresKills: 3,
  brevoFaults: 5,
  rebuilds: 1,
};

const outageWindows = (entries: readonly FaultEntry[]) =>
  entries
    .flatMap((e) => (e.kind === "broker-kill9" || e.kind === "postgres-kill9" ? [[e.atMs, e.atMs + e.downMs]] : []))
    .sort((a, b) => (a[0] as number) - (b[0] as number));

describe("faultSchedule", () => {
  it("plans every fault the full run needs, each kind counted", () => {
    const counts = countByKind(faultSchedule(FULL));
    expect(counts).toEqual({
      "kill9-ingest": 20,
      "kill9-projector": 20,
      "kill9-sink": 20,
      "sigstop-projector": 3,
      "sigstop-sink": 3,
      "broker-kill9": 3,
      "postgres-kill9": 3,
      "brevo-429-storm": 5,
      "brevo-5xx": 5,
      "brevo-timeout": 5,
      "brevo-apply-then-fail": 5,
      rebuild: 1,
    });
  });

  it("is the same for a seed and different for another", () => {
    expect(faultSchedule(FULL)).toEqual(faultSchedule(FULL));
    expect(faultSchedule({ ...FULL, seed: 8 })).not.toEqual(faultSchedule(FULL));
  });

  it("keeps faults inside the window, sorted, and kills alternate over the instances", () => {
    const entries = faultSchedule(FULL);
    for (const e of entries) {
      expect(e.atMs).toBeGreaterThanOrEqual(FULL.warmupMs);
      expect(e.atMs).toBeLessThan(FULL.durationMs);
    }
    expect(entries.map((e) => e.atMs)).toEqual([...entries.map((e) => e.atMs)].sort((a, b) => a - b));
    const projectorKills = entries.filter((e) => e.kind === "kill9" && e.service === "projector");
    expect(new Set(projectorKills.map((e) => (e.kind === "kill9" ? e.instance : -1)))).toEqual(new Set([0, 1]));
  });

  it("spreads each kind over the whole run instead of bunching it", () => {
    const kills = faultSchedule(FULL).filter((e) => e.kind === "kill9" && e.service === "ingest");
    const slot = (FULL.durationMs - FULL.warmupMs) / FULL.kills;
    kills.forEach((e, i) => {
      expect(e.atMs).toBeGreaterThanOrEqual(FULL.warmupMs + slot * i);
      expect(e.atMs).toBeLessThan(FULL.warmupMs + slot * (i + 1));
    });
  });

  it("pauses longer than the session timeout of the paused service", () => {
    for (const e of faultSchedule(FULL))
      if (e.kind === "sigstop") expect(e.pauseMs).toBeGreaterThan(FULL.sessionTimeoutMs[e.service]);
  });

  it("never overlaps a broker outage with a Postgres outage", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const windows = outageWindows(faultSchedule({ ...FULL, seed }));
      for (let i = 1; i < windows.length; i++)
        expect(windows[i]?.[0] as number).toBeGreaterThanOrEqual(windows[i - 1]?.[1] as number);
    }
  });

  it("puts the rebuild in the middle half, while deliveries still flow", () => {
    const rebuild = faultSchedule(FULL).find((e) => e.kind === "rebuild");
    const span = FULL.durationMs - FULL.warmupMs;
    expect(rebuild?.atMs).toBeGreaterThanOrEqual(FULL.warmupMs + span / 4);
    expect(rebuild?.atMs).toBeLessThan(FULL.warmupMs + (3 * span) / 4);
  });

  it("refuses a window with no room for faults", () => {
    expect(() => faultSchedule({ ...FULL, durationMs: 10_000 })).toThrow(/durationMs/);
  });
});
