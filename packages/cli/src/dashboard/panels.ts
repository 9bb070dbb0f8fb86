import type { StatusReport } from "../status/status.ts";
import { sum } from "./prom-text.ts";
import type { Scrape } from "./sample-types.ts";
import type { DeadLetterRow, FailureRow, MrrRow } from "./sources.ts";

/** The panels' data, built from what the sampler and the queries read: pure, and what /api/* serves. */

export interface Component {
  readonly name: string;
  readonly up: boolean;
  readonly detail: string;
  /** When the process started (ISO), from its process_start_time_seconds. */
  readonly since: string | null;
}

export interface HealthPanel {
  readonly healthy: boolean;
  readonly components: readonly Component[];
  readonly halted: readonly { partition: string; reason: string; detail: string; since: string }[];
}

const iso = (seconds: number | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : null);

function serviceDetail(scrape: Scrape): string {
  if (!scrape.up) return `down: ${scrape.error ?? "no answer"}`;
  const s = scrape.samples;
  const node = s.find((x) => x.name === "nodejs_version_info")?.labels["version"];
  const parts = [node ? `node ${node}` : undefined];
  if (sum(s, "brevo_sink_leading") !== undefined) {
    parts.push(sum(s, "brevo_sink_fatal") ? "FATAL" : sum(s, "brevo_sink_leading") ? "leader" : "standby");
  }
  const generation = sum(s, "projector_generation");
  if (generation !== undefined) parts.push(`generation ${generation}`);
  return parts.filter(Boolean).join(", ");
}

export function healthPanel(scrapes: readonly Scrape[], status: StatusReport | undefined): HealthPanel {
  const stack: Component = {
    name: "stack (Kafka, registry, PostgreSQL)",
    up: status?.stack.healthy ?? false,
    detail: status?.stack.detail ?? "not sampled yet",
    since: null,
  };
  const services = scrapes.map((s) => ({
    name: s.target.name,
    up: s.up && !sum(s.samples, "brevo_sink_fatal"),
    detail: serviceDetail(s),
    since: iso(sum(s.samples, "process_start_time_seconds")),
  }));
  const halted = (status?.projector?.partitions ?? []).flatMap((p) =>
    p.halted ? [{ partition: `${p.topic}[${p.partition}]`, ...p.halted }] : [],
  );
  const components = [stack, ...services];
  return { healthy: components.every((c) => c.up) && halted.length === 0, components, halted };
}

export interface ProblemsPanel {
  readonly deadLetters: readonly (Omit<DeadLetterRow, "created_at"> & { created_at: string; redrive: string })[];
  readonly brevoFailures: readonly (Omit<FailureRow, "last_failed_at"> & { last_failed_at: string })[];
  readonly sink: {
    readonly passes: number | null;
    readonly lastPassAt: string | null;
    readonly responses: readonly { endpoint: string; status: string; count: number }[];
    readonly rateLimited: number | null;
  };
}

export function problemsPanel(
  deadLetters: readonly DeadLetterRow[],
  failures: readonly FailureRow[],
  scrapes: readonly Scrape[],
): ProblemsPanel {
  const sink = scrapes.filter((s) => s.up && sum(s.samples, "brevo_sink_leading") !== undefined);
  const samples = sink.flatMap((s) => s.samples);
  const responses = samples
    .filter((x) => x.name === "brevo_sink_brevo_responses")
    .map((x) => ({ endpoint: x.labels["endpoint"] ?? "", status: x.labels["status"] ?? "", count: x.value }))
    .sort((a, b) => b.count - a.count || a.endpoint.localeCompare(b.endpoint));
  const lastPass = Math.max(0, ...sink.map((s) => sum(s.samples, "brevo_sink_last_pass_seconds") ?? 0));
  return {
    deadLetters: deadLetters.map((d) => ({
      ...d,
      created_at: d.created_at.toISOString(),
      // Redrive after fixing the cause; --dry-run first lists what would go back.
      redrive: `pnpm cli redrive --topic ${d.topic} --dry-run`,
    })),
    brevoFailures: failures.map((f) => ({ ...f, last_failed_at: f.last_failed_at.toISOString() })),
    sink: {
      passes: sum(samples, "brevo_sink_passes_total") ?? null,
      lastPassAt: iso(lastPass || undefined),
      responses,
      rateLimited: sum(samples, "brevo_sink_rate_limited") ?? null,
    },
  };
}

export interface SaasPanel {
  readonly customers: number | null;
  readonly subscribers: number | null;
  readonly payments: number | null;
  /** MRR per currency in minor units, from the live projection. */
  readonly mrr: readonly { currency: string; mrr: number; subscribers: number }[];
  readonly history: "none";
}

export function saasPanel(mrr: readonly MrrRow[], status: StatusReport | undefined): SaasPanel {
  return {
    customers: status?.projector?.customers ?? null,
    subscribers: status?.projector?.subscribers ?? null,
    payments: status?.projector?.payments ?? null,
    mrr: mrr.map((r) => ({ currency: r.currency, mrr: Number(r.mrr), subscribers: r.subscribers })),
    // MRR over time needs the MRR-history views (issue: SaaS metrics over time); until then, now.
    history: "none",
  };
}
