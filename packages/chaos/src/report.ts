import type { DeliveryStats } from "./delivery-model.ts";
import type { OracleResult } from "./oracles.ts";
import type { InstanceFigures } from "./supervisor.ts";

/** The figures a run prints: JSON on stdout, a readable report on stderr (as the benchmarks do). */
export interface ChaosFigures {
  readonly seed: number;
  readonly command: string;
  readonly events: number;
  readonly customers: number;
  readonly deliveries: number;
  readonly duplicates: number;
  readonly attempts: number;
  readonly acked2xx: number;
  readonly status503: number;
  readonly otherStatus: Readonly<Record<string, number>>;
  readonly networkErrors: number;
  readonly unacked: number;
  readonly topicRecords: number;
  readonly faultsPlanned: Readonly<Record<string, number>>;
  readonly faultsApplied: Readonly<Record<string, number>>;
  readonly faultsMissed: Readonly<Record<string, number>>;
  readonly brevoFaultsHit: Readonly<Record<string, number>>;
  readonly rebuildSwitches: number;
  readonly restarts: Readonly<Record<string, number>>;
  readonly ownExits: Readonly<Record<string, number>>;
  readonly lost: number;
  readonly mismatches: Readonly<Record<string, number>>;
  readonly resends: number;
  readonly contactWrites: number;
  readonly customEventsSent: number;
  /** Live mapped events with a customer: each must reach the sink's ledger (oracle E). */
  readonly customEventsOwed: number;
  /** From the end of the last fault (and the last delivery) to every oracle's precondition holding. */
  readonly convergeMs: number | null;
  readonly peakRssMiB: Readonly<Record<string, number>>;
  readonly durationS: number;
  readonly passed: boolean;
}

export function buildFigures(input: {
  seed: number;
  command: string;
  events: number;
  customers: number;
  duplicates: number;
  delivery: DeliveryStats;
  topicRecords: number;
  faultsPlanned: Record<string, number>;
  faultsApplied: Record<string, number>;
  faultsMissed: Record<string, number>;
  brevoFaultsHit: Record<string, number>;
  rebuildSwitches: number;
  instances: Record<string, InstanceFigures>;
  oracles: readonly OracleResult[];
  resends: number;
  contactWrites: number;
  customEventsSent: number;
  customEventsOwed: number;
  convergeMs: number | null;
  durationMs: number;
}): ChaosFigures {
  const restarts: Record<string, number> = {};
  const ownExits: Record<string, number> = {};
  const peak: Record<string, number> = {};
  for (const [name, f] of Object.entries(input.instances)) {
    restarts[name] = f.starts - 1;
    ownExits[name] = f.ownExits;
    // Per service: the highest of its instances.
    const service = name.replace(/-\d+$/, "");
    peak[service] = Math.max(peak[service] ?? 0, Math.round(f.peakRssBytes / 1024 / 1024));
  }
  const mismatches = Object.fromEntries(input.oracles.map((o) => [o.oracle, o.mismatches]));
  const lost = input.oracles.find((o) => o.oracle === "A")?.mismatches ?? 0;
  return {
    seed: input.seed,
    command: input.command,
    events: input.events,
    customers: input.customers,
    deliveries: input.delivery.planned,
    duplicates: input.duplicates,
    attempts: input.delivery.attempts,
    acked2xx: input.delivery.ok,
    status503: input.delivery.status503,
    otherStatus: input.delivery.otherStatus,
    networkErrors: input.delivery.networkErrors,
    unacked: input.delivery.unacked.length,
    topicRecords: input.topicRecords,
    faultsPlanned: input.faultsPlanned,
    faultsApplied: input.faultsApplied,
    faultsMissed: input.faultsMissed,
    brevoFaultsHit: input.brevoFaultsHit,
    rebuildSwitches: input.rebuildSwitches,
    restarts,
    ownExits,
    lost,
    mismatches,
    resends: input.resends,
    contactWrites: input.contactWrites,
    customEventsSent: input.customEventsSent,
    customEventsOwed: input.customEventsOwed,
    convergeMs: input.convergeMs,
    peakRssMiB: peak,
    durationS: Math.round(input.durationMs / 1000),
    passed: input.oracles.every((o) => o.mismatches === 0) && input.convergeMs !== null,
  };
}

const kv = (r: Readonly<Record<string, number>>) =>
  Object.entries(r)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ") || "none";

/** The report for people: figures, then each oracle with its first differing rows when it failed. */
export function formatReport(f: ChaosFigures, oracles: readonly OracleResult[]): string {
  const lines = [
    `chaos: seed ${f.seed}, ${f.events} events over ${f.customers} customers, ${f.durationS} s`,
    `  replay: ${f.command}`,
    `  deliveries ${f.deliveries} (${f.duplicates} duplicates), attempts ${f.attempts}, 2xx ${f.acked2xx}, 503 ${f.status503}, network errors/timeouts ${f.networkErrors}, other ${kv(f.otherStatus)}, never acknowledged ${f.unacked}`,
    `  topic records ${f.topicRecords}`,
    `  faults applied: ${kv(f.faultsApplied)}`,
    `  faults that found nothing to hit: ${kv(f.faultsMissed)}`,
    `  Brevo faults hit: ${kv(f.brevoFaultsHit)}; rebuild switches ${f.rebuildSwitches}`,
    `  restarts: ${kv(f.restarts)}; exits of their own: ${kv(f.ownExits)}`,
    `  lost ${f.lost}; re-sends ${f.resends} of ${f.contactWrites} contact writes; custom events sent ${f.customEventsSent} of ${f.customEventsOwed} owed`,
    `  converged ${f.convergeMs === null ? "NOT within the bound" : `${(f.convergeMs / 1000).toFixed(1)} s`} after the last fault`,
    `  peak RSS (MiB): ${kv(f.peakRssMiB)}`,
  ];
  for (const o of oracles) {
    lines.push(`  ${o.mismatches === 0 ? "ok  " : "FAIL"} ${o.oracle} ${o.title}: ${o.mismatches} mismatches`);
    for (const row of o.first) lines.push(`         ${row}`);
  }
  lines.push(f.passed ? "chaos: every oracle holds" : `chaos: FAILED (seed ${f.seed}; replay: ${f.command})`);
  return `${lines.join("\n")}\n`;
}
