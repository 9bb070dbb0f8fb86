import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics of the webhook path. Tests make several instances per process, each with its
 * own registry; a cluster worker passes prom-client's global registry, which the primary
 * aggregates across workers.
 */
export function createIngestMetrics(
  inFlight: () => number,
  registry: Registry = new Registry(),
  bodyBytes: () => number = () => 0,
) {
  return {
    registry,
    received: new Counter({
      name: "ingest_webhooks_received_total",
      help: "Webhook requests received on the webhook route",
      registers: [registry],
    }),
    accepted: new Counter({
      name: "ingest_webhooks_accepted_total",
      help: "Events acknowledged with 2xx, by Stripe event type",
      labelNames: ["type", "outcome"] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: "ingest_webhooks_rejected_total",
      help: "Requests answered 4xx/5xx, by reason code",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    produceLatency: new Histogram({
      name: "ingest_produce_latency_seconds",
      help: "Time from append to broker acknowledgement (acks=-1)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "ingest_produce_in_flight",
      help: "Events appended but not yet acknowledged by the broker",
      registers: [registry],
      collect() {
        this.set(inFlight());
      },
    }),
    bodyBytes: new Gauge({
      name: "ingest_webhook_body_bytes_held",
      help: "Webhook body bytes held in memory (buffering or waiting for the broker), against WEBHOOK_BODY_BUDGET_BYTES",
      registers: [registry],
      collect() {
        this.set(bodyBytes());
      },
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
