import { collectStatus, type StatusReport } from "../status/status.ts";
import { type Sample, sum } from "./prom-text.ts";
import { createSeriesRing, rate } from "./series-ring.ts";
import { type Scrape, scrape, type Target } from "./sources.ts";

type Env = Record<string, string | undefined>;

/** The counters charted as per-second rates: series name → metric and label filter. */
const RATES: readonly { series: string; metric: string; where?: Record<string, string> }[] = [
  { series: "webhooks received/s", metric: "ingest_webhooks_received_total" },
  { series: "webhooks stored/s", metric: "ingest_webhooks_accepted_total", where: { outcome: "stored" } },
  { series: "webhooks rejected/s", metric: "ingest_webhooks_rejected_total" },
  { series: "projector events/s", metric: "projector_records_total", where: { outcome: "applied" } },
];

/** One point of the ring from the scrapes and the status report, and the counters for the next rates. */
export function samplePoint(
  at: number,
  scrapes: readonly Scrape[],
  status: StatusReport | undefined,
  previous: ReadonlyMap<string, { at: number; value: number }>,
): { values: Record<string, number | null>; counters: Map<string, { at: number; value: number }> } {
  const all: Sample[] = scrapes.flatMap((s) => s.samples);
  const values: Record<string, number | null> = {};
  const counters = new Map<string, { at: number; value: number }>();
  for (const r of RATES) {
    const value = sum(all, r.metric, r.where ?? {});
    if (value === undefined) {
      values[r.series] = null;
      continue;
    }
    values[r.series] = rate(previous.get(r.series), at, value);
    counters.set(r.series, { at, value });
  }
  const partitions = status?.projector?.partitions ?? [];
  values["projector lag (records)"] = partitions.length
    ? partitions.reduce((n, p) => n + (p.halted ? 0 : p.lag), 0)
    : null;
  for (const p of partitions) values[`lag ${p.topic}[${p.partition}]`] = p.halted ? null : p.lag;
  values["sink backlog (customers)"] = status?.sink?.backlog ?? null;
  return { values, counters };
}

export interface Sampler {
  /** The last scrape of every target and the last status report (the health and problem panels). */
  latest(): { at: number; scrapes: readonly Scrape[]; status: StatusReport | undefined };
  columns: ReturnType<typeof createSeriesRing>["columns"];
  /** One sampling round now (the timer calls it; tests call it directly). */
  tick(): Promise<void>;
  start(): void;
  stop(): void;
}

/** Samples every `intervalMs` into a ring of `capacity` points (default: an hour at 5 s). */
export function createSampler(options: {
  env: Env;
  targets: readonly Target[];
  intervalMs?: number;
  capacity?: number;
}): Sampler {
  const intervalMs = options.intervalMs ?? 5000;
  const ring = createSeriesRing(options.capacity ?? Math.ceil(3_600_000 / intervalMs));
  let counters = new Map<string, { at: number; value: number }>();
  let last: ReturnType<Sampler["latest"]> = { at: 0, scrapes: [], status: undefined };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const round = async () => {
    const at = Date.now();
    const [scrapes, status] = await Promise.all([
      Promise.all(options.targets.map((t) => scrape(t))),
      collectStatus(options.env).catch(() => undefined),
    ]);
    const point = samplePoint(at, scrapes, status, counters);
    counters = point.counters;
    ring.push(at, point.values);
    last = { at, scrapes, status };
  };
  const tick = () => {
    running ??= round().finally(() => (running = undefined));
    return running;
  };
  return {
    latest: () => last,
    columns: (names) => ring.columns(names),
    tick,
    start() {
      void tick();
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
