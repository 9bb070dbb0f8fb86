import { parseArgs } from "node:util";

/** `pnpm chaos` options: sizes by name, every knob overridable, all validated before anything starts. */

export const USAGE = `usage: pnpm chaos [--size small|full] [--seed N] [--deliveries N] [--duration S]
                  [--kills N] [--stops N] [--broker-kills N] [--postgres-kills N]
                  [--brevo-faults N] [--rebuilds N] [--concurrency N] [--quiesce-timeout S]
                  [--logs DIR]

A fault-injection soak of the whole pipeline on a private broker, registry and PostgreSQL:
ingest (2 workers), 2 projectors and 2 sinks as supervised processes, the fake Brevo, Stripe-like
deliveries (signed, concurrent, shuffled, duplicated, retried until 2xx) under a seeded schedule
of kill -9, SIGSTOP, broker and Postgres kills, Brevo faults and a rebuild switch; then the
oracles A-E. JSON figures on stdout, a readable report on stderr; exit 1 when an oracle fails.

  --size small|full     presets (default small): small ~3,000 deliveries over 90 s with 3 kills
                        per service; full 200,000 deliveries over 900 s with 20 kills per service
  --seed N              the schedule, history and delivery order (default: from the clock, printed)
  --deliveries N        deliveries to make (events plus ~10 % duplicates)
  --duration S          seconds over which deliveries and faults are spread
  --kills N             kill -9 per service (ingest, projector, sink)
  --stops N             SIGSTOP beyond the session timeout, each of a projector and a sink
  --broker-kills N      broker kill -9 + restart
  --postgres-kills N    PostgreSQL kill -9 (immediate) + restart
  --brevo-faults N      per Brevo fault kind (429 storm, 5xx, timeout, apply-then-fail)
  --rebuilds N          pnpm cli rebuild with its switch, while events flow
  --concurrency N       deliveries in flight at once (default 64)
  --quiesce-timeout S   bound on waiting for the pipeline to settle after the last fault (default 600)
  --logs DIR            keep the services' logs there (default: a temporary directory, printed)`;

export interface ChaosOptions {
  readonly size: "small" | "full";
  readonly seed: number;
  readonly deliveries: number;
  readonly durationMs: number;
  readonly kills: number;
  readonly stops: number;
  readonly brokerKills: number;
  readonly postgresKills: number;
  readonly brevoFaults: number;
  readonly rebuilds: number;
  readonly concurrency: number;
  readonly quiesceTimeoutMs: number;
  readonly logs: string | undefined;
}

const PRESETS = {
  small: {
    deliveries: 3000,
    durationMs: 90_000,
    kills: 3,
    stops: 1,
    brokerKills: 1,
    postgresKills: 1,
    brevoFaults: 1,
    rebuilds: 1,
  },
  full: {
    deliveries: 200_000,
    durationMs: 900_000,
    kills: 20,
    stops: 3,
    brokerKills: 3,
    postgresKills: 3,
    brevoFaults: 5,
    rebuilds: 1,
  },
} as const;

export type ParsedArgs =
  | { readonly ok: true; readonly options: ChaosOptions }
  | { readonly ok: false; readonly help: true }
  | { readonly ok: false; readonly help: false; readonly error: string };

const COUNTS = [
  "deliveries",
  "kills",
  "stops",
  "broker-kills",
  "postgres-kills",
  "brevo-faults",
  "rebuilds",
  "concurrency",
  "seed",
] as const;

export function parseChaosArgs(argv: readonly string[], now = Date.now()): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        help: { type: "boolean", short: "h" },
        size: { type: "string" },
        duration: { type: "string" },
        "quiesce-timeout": { type: "string" },
        logs: { type: "string" },
        ...Object.fromEntries(COUNTS.map((k) => [k, { type: "string" as const }])),
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return { ok: false, help: false, error: (error as Error).message };
  }
  if (values["help"]) return { ok: false, help: true };
  const size = (values["size"] as string | undefined) ?? "small";
  if (size !== "small" && size !== "full")
    return { ok: false, help: false, error: `--size: small or full, not ${size}` };
  const preset = PRESETS[size];
  const numbers: Record<string, number> = {};
  for (const key of [...COUNTS, "duration", "quiesce-timeout"]) {
    const raw = values[key] as string | undefined;
    if (raw === undefined) continue;
    const n = Number(raw);
    const min =
      key === "deliveries" || key === "concurrency" || key === "duration" || key === "quiesce-timeout" ? 1 : 0;
    if (!Number.isInteger(n) || n < min) return { ok: false, help: false, error: `--${key}: an integer >= ${min}` };
    numbers[key] = n;
  }
  return {
    ok: true,
    options: {
      size,
      seed: numbers["seed"] ?? now % 1_000_000_007,
      deliveries: numbers["deliveries"] ?? preset.deliveries,
      durationMs: numbers["duration"] === undefined ? preset.durationMs : numbers["duration"] * 1000,
      kills: numbers["kills"] ?? preset.kills,
      stops: numbers["stops"] ?? preset.stops,
      brokerKills: numbers["broker-kills"] ?? preset.brokerKills,
      postgresKills: numbers["postgres-kills"] ?? preset.postgresKills,
      brevoFaults: numbers["brevo-faults"] ?? preset.brevoFaults,
      rebuilds: numbers["rebuilds"] ?? preset.rebuilds,
      concurrency: numbers["concurrency"] ?? 64,
      quiesceTimeoutMs: (numbers["quiesce-timeout"] ?? 600) * 1000,
      logs: values["logs"] as string | undefined,
    },
  };
}

/** The command that replays a run: every option spelled out, so a changed preset does not change it. */
export function replayCommand(o: ChaosOptions): string {
  return [
    "pnpm chaos",
    `--seed ${o.seed}`,
    `--deliveries ${o.deliveries}`,
    `--duration ${Math.round(o.durationMs / 1000)}`,
    `--kills ${o.kills}`,
    `--stops ${o.stops}`,
    `--broker-kills ${o.brokerKills}`,
    `--postgres-kills ${o.postgresKills}`,
    `--brevo-faults ${o.brevoFaults}`,
    `--rebuilds ${o.rebuilds}`,
    `--concurrency ${o.concurrency}`,
  ].join(" ");
}
