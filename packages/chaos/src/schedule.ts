import { prng } from "@sbs/projector/testing/history";

/**
 * The seeded fault schedule: what happens when, decided before the run starts so a seed replays
 * the same faults in the same order. Pure: the executor (faults.ts) turns entries into signals,
 * restarts and fake-Brevo settings.
 */

export type ServiceKind = "ingest" | "projector" | "sink";

export type FaultEntry =
  | { readonly atMs: number; readonly kind: "kill9"; readonly service: ServiceKind; readonly instance: number }
  | {
      readonly atMs: number;
      readonly kind: "sigstop";
      readonly service: "projector" | "sink";
      readonly instance: number;
      readonly pauseMs: number;
    }
  | { readonly atMs: number; readonly kind: "broker-kill9"; readonly downMs: number }
  | { readonly atMs: number; readonly kind: "postgres-kill9"; readonly downMs: number }
  | { readonly atMs: number; readonly kind: "brevo"; readonly fault: BrevoFaultKind; readonly times: number }
  | { readonly atMs: number; readonly kind: "rebuild" };

export type BrevoFaultKind = "429-storm" | "5xx" | "timeout" | "apply-then-fail";
export type FaultKindName = "kill9" | "sigstop" | "broker-kill9" | "postgres-kill9" | "brevo" | "rebuild";

export interface ScheduleOptions {
  readonly seed: number;
  /** Faults start after `warmupMs` and end by `durationMs`. */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** kill -9 per service kind (alternating over its instances). */
  readonly kills: number;
  readonly instances: Readonly<Record<ServiceKind, number>>;
  /** SIGSTOPs each of a projector and a sink, each longer than its Kafka session timeout. */
  readonly stops: number;
  readonly sessionTimeoutMs: Readonly<Record<"projector" | "sink", number>>;
  readonly brokerKills: number;
  readonly postgresKills: number;
  /** Per Brevo fault kind. */
  readonly brevoFaults: number;
  readonly rebuilds: number;
}

/**
 * One entry per slot: the window [warmup, duration) is cut into `n` equal slots per fault kind
 * and each fault lands at a random point of its slot, so faults are spread over the whole run
 * (never all at the start) yet their exact timing varies with the seed. Broker and Postgres
 * outages share one sequence of slots so that they never overlap: both at once leaves nothing to
 * observe but a dead stack. Rebuilds land in the middle half of the run, while events still flow.
 */
export function faultSchedule(o: ScheduleOptions): FaultEntry[] {
  const rand = prng(o.seed);
  const span = o.durationMs - o.warmupMs;
  if (!(span > 0)) throw new Error("durationMs must exceed warmupMs");
  const slots = (n: number, from = o.warmupMs, width = span) =>
    Array.from({ length: n }, (_, i) => Math.floor(from + (width / n) * (i + rand() * 0.9)));
  const between = (min: number, max: number) => Math.floor(min + rand() * (max - min));
  const entries: FaultEntry[] = [];

  for (const service of ["ingest", "projector", "sink"] as const) {
    slots(o.kills).forEach((atMs, i) => {
      entries.push({ atMs, kind: "kill9", service, instance: i % o.instances[service] });
    });
  }
  for (const service of ["projector", "sink"] as const) {
    slots(o.stops).forEach((atMs, i) => {
      const pauseMs = o.sessionTimeoutMs[service] + between(3000, 8000);
      entries.push({ atMs, kind: "sigstop", service, instance: i % o.instances[service], pauseMs });
    });
  }
  const outages = o.brokerKills + o.postgresKills;
  const kinds = [
    ...Array<"broker-kill9">(o.brokerKills).fill("broker-kill9"),
    ...Array<"postgres-kill9">(o.postgresKills).fill("postgres-kill9"),
  ];
  // Interleave the two kinds in a seeded order.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as (typeof kinds)[number], kinds[i] as (typeof kinds)[number]];
  }
  slots(outages).forEach((atMs, i) => {
    const kind = kinds[i] as (typeof kinds)[number];
    entries.push({ atMs, kind, downMs: between(2000, 8000) });
  });
  for (const fault of ["429-storm", "5xx", "timeout", "apply-then-fail"] as const) {
    slots(o.brevoFaults).forEach((atMs) => {
      const times = fault === "429-storm" ? between(20, 80) : fault === "timeout" ? between(1, 4) : between(2, 12);
      entries.push({ atMs, kind: "brevo", fault, times });
    });
  }
  slots(o.rebuilds, o.warmupMs + span / 4, span / 2).forEach((atMs) => {
    entries.push({ atMs, kind: "rebuild" });
  });
  return entries.sort((a, b) => a.atMs - b.atMs);
}

/** Faults per kind name as the report prints them (kill9 split per service, brevo per fault). */
export function countByKind(entries: readonly FaultEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const key =
      e.kind === "kill9" || e.kind === "sigstop"
        ? `${e.kind}-${e.service}`
        : e.kind === "brevo"
          ? `brevo-${e.fault}`
          : e.kind;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
