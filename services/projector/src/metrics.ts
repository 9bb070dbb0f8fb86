import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Prometheus metrics of the projector; one registry per instance so tests can run several. */
export function createProjectorMetrics(registry: Registry = new Registry()) {
  return {
    registry,
    records: new Counter({
      name: "projector_records_total",
      help: "Records read, by outcome: applied (valid events, used or ignored by the read model), dead_lettered, skipped (below the stored offset)",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: "projector_dead_letters_total",
      help: "Records published to the dead-letter topic, by error class",
      labelNames: ["error_class"] as const,
      registers: [registry],
    }),
    transientErrors: new Counter({
      name: "projector_transient_errors_total",
      help: "Batch attempts that failed on a transient error and were retried, by code (schema_not_registered: the registry does not know a record's schema id; alert on it)",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    halted: new Gauge({
      name: "projector_partition_halted",
      help: "1 for a partition the projector refuses to advance (reason: ahead_of_log, below_log_start, topic_identity); see pnpm cli status",
      labelNames: ["topic", "partition", "reason"] as const,
      registers: [registry],
    }),
    offsetGaps: new Counter({
      name: "projector_offset_gaps_total",
      help: "Offsets skipped between records, by reason (sparse: the broker proved them empty, e.g. transaction markers)",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    deriveFailures: new Counter({
      name: "projector_derive_failures_total",
      help: "Customer derivations that threw; the customer keeps its previous row (table derive_failure)",
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: "projector_batch_duration_seconds",
      help: "Time from receiving a batch to its Postgres commit",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    customersDerived: new Counter({
      name: "projector_customers_derived_total",
      help: "Customer read models derived again because their facts changed",
      registers: [registry],
    }),
    deriveRequests: new Gauge({
      name: "projector_derive_requests",
      help: "Customers waiting in the slots' mailboxes to be derived again (refunds and disputes keyed apart from their charge); drained by each slot's batches and supervisor",
      registers: [registry],
    }),
    lag: new Gauge({
      name: "projector_lag_records",
      help: "Records between the stored next offset and the partition's high-water mark (absent for a halted partition: see projector_partition_halted)",
      labelNames: ["topic", "partition"] as const,
      registers: [registry],
    }),
    generation: new Gauge({
      name: "projector_generation",
      help: "Generation of the projection tables this instance writes",
      registers: [registry],
    }),
    factCacheReads: new Counter({
      name: "projector_fact_cache_reads_total",
      help: "Fact reads of committed batches, by result: hit (a customer, charge or fact answered from the slot's in-memory cache), miss (read from Postgres)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    factCacheCustomers: new Gauge({
      name: "projector_fact_cache_customers",
      help: "Customers whose facts this instance holds in memory, over all its slots (bounded by FACT_CACHE_CUSTOMERS)",
      registers: [registry],
    }),
    lastCommit: new Gauge({
      name: "projector_last_commit_timestamp_seconds",
      help: "Unix time of the last batch committed to Postgres",
      registers: [registry],
    }),
  };
}

export type ProjectorMetrics = ReturnType<typeof createProjectorMetrics>;
