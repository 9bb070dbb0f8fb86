import { createInternalServer, createMetricsRegistry, type InternalServer } from "@sbs/shared";
import type { PassHealth } from "./pass-loop.ts";

/**
 * The sink's internal port. `/healthz`: 200 while leading or standing by, 503 after a fatal error
 * (until a good pass), with the pass health as JSON. `/metrics`: the same as Prometheus gauges, for
 * alerting, then the standard process_* / nodejs_* metrics.
 */
export function createSinkHttpServer(health: () => Readonly<PassHealth>): InternalServer {
  const defaults = createMetricsRegistry();
  return createInternalServer({
    metrics: async () => `${sinkMetrics(health())}${await defaults.metrics()}`,
    contentType: defaults.contentType,
    health: () => {
      const h = health();
      return { ok: h.status !== "fatal", detail: { ...h } };
    },
  });
}

const sinkMetrics = (h: Readonly<PassHealth>): string =>
  [
    "# HELP brevo_sink_fatal 1 after a fatal (not retriable) error, until a pass succeeds",
    "# TYPE brevo_sink_fatal gauge",
    `brevo_sink_fatal ${h.status === "fatal" ? 1 : 0}`,
    "# HELP brevo_sink_leading 1 while this instance pushes contacts",
    "# TYPE brevo_sink_leading gauge",
    `brevo_sink_leading ${h.status === "leading" ? 1 : 0}`,
    "# HELP brevo_sink_last_pass_seconds unix time of the last successful pass",
    "# TYPE brevo_sink_last_pass_seconds gauge",
    `brevo_sink_last_pass_seconds ${h.lastPassAt === undefined ? 0 : Math.floor(h.lastPassAt / 1000)}`,
    "# HELP brevo_sink_drift_contacts sampled contacts whose Brevo state differs from the last push (last check)",
    "# TYPE brevo_sink_drift_contacts gauge",
    `brevo_sink_drift_contacts ${h.drift?.drifted ?? 0}`,
    "",
  ].join("\n");
