import type { Pool } from "pg";
import { createBatchProcessor } from "../consumer/batch-processor.ts";
import { createMailboxDrain } from "../consumer/mailbox-drain.ts";
import { DEFAULT_READ_MODEL_OPTIONS } from "../domain/index.ts";
import { createProjectorMetrics } from "../metrics.ts";
import { createFactCaches } from "../projection/fact-cache.ts";
import { silent } from "./int-setup.ts";
import { decodeJsonRecord } from "./json-record-decoder.ts";

/**
 * The production batch processor and mailbox drain over a pool, without Kafka: records carry the
 * event JSON, dead letters go nowhere, the generation has `partitions` slots. For tests that drive
 * batches and supervisions in an order of their choosing. Each call is one projector process: its
 * own in-memory fact caches.
 */
export function inProcessPipeline(
  pool: Pool,
  opts: { partitions: number; generation: number; retryMs: number; factCacheCustomers?: number },
) {
  const facts = createFactCaches(opts.factCacheCustomers ?? 1000);
  const common = {
    facts,
    pool,
    metrics: createProjectorMetrics(),
    logger: silent,
    readModel: DEFAULT_READ_MODEL_OPTIONS,
    synchronousCommit: false,
    slots: async () => opts.partitions,
  };
  const processor = createBatchProcessor({
    ...common,
    decode: decodeJsonRecord,
    deadLetters: { publish: async () => {} },
    generation: () => opts.generation,
    followPointer: true,
    attempts: 2,
    retry: { baseDelayMs: opts.retryMs, maxDelayMs: opts.retryMs * 4 },
    logStartOffset: async () => 0n,
  });
  return { processor, drain: createMailboxDrain(common), facts };
}
