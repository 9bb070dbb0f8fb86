import { randomUUID } from "node:crypto";
import type { ClientBase } from "pg";
import type { ProjectorMetrics } from "../metrics.ts";
import { applyPhaseMs, type Locality } from "../projection/apply-events.ts";
import type { FactCacheStats, FactCaches, SlotFactCache } from "../projection/fact-cache.ts";
import { type ProjectionStore, postgresProjectionStore } from "../projection/projection-store.ts";
import { requestDerive, slotOf, takeSlot } from "../store/slots.ts";

/** The customers a transaction holding `slot`'s lock may derive (none without a slot). */
export const localTo = (slot: number | null, slots: number): Locality => ({
  isLocal: (customerId, account) => slot !== null && slotOf(customerId, account, slots) === slot,
});

/** Asks each foreign customer's slot to derive it again, in the caller's transaction. */
export async function requestForeign(
  db: ClientBase,
  generation: number,
  slots: number,
  foreign: readonly ReadonlyMap<string, string | null>[],
): Promise<void> {
  const requests = new Map<string, number>();
  for (const map of foreign)
    for (const [customerId, account] of map) requests.set(customerId, slotOf(customerId, account, slots));
  await requestDerive(
    db,
    generation,
    [...requests].map(([customerId, slot]) => ({ customerId, slot })),
  );
}

export interface OpenSlot {
  /** Customers other transactions asked this slot to derive again. */
  readonly requested: readonly string[];
  /** Where this transaction's facts are read and written: through the slot's cache when it has one. */
  readonly store: ProjectionStore;
  /** Reads answered from the slot's cache (hits) and from Postgres (misses); zero without one. */
  readonly reads: FactCacheStats;
  /** After COMMIT succeeded: the cache keeps what the transaction knows. */
  commit(): void;
}

const NO_CACHE = (requested: readonly string[], store: ProjectionStore): OpenSlot => ({
  requested,
  store,
  reads: { hits: 0, misses: 0 },
  commit: () => {},
});

/**
 * Starts a transaction's use of its slot, after its lock is taken and before anything is read:
 * writes the cache's marker into the slot, takes the slot's requests, and opens the cache on what
 * it read (emptied if someone else held the slot since; requested customers dropped, to be
 * reloaded). A transaction without a cache writes a marker no cache will recognise.
 * The caller resets the cache when the transaction fails.
 */
export async function openSlot(
  db: ClientBase,
  generation: number,
  slot: number | null,
  cache: SlotFactCache | undefined,
): Promise<OpenSlot> {
  const plain = postgresProjectionStore(db, generation);
  if (slot === null) return NO_CACHE([], plain);
  const { previous, requested } = await takeSlot(db, generation, slot, cache?.nextMarker() ?? randomUUID());
  if (cache === undefined) return NO_CACHE(requested, plain);
  return { requested, ...cache.open(previous, requested, plain) };
}

/** A committed transaction's cache reads: into the metrics, the process's totals and the bench's counts. */
export function countCacheReads(metrics: ProjectorMetrics, caches: FactCaches, reads: FactCacheStats): void {
  caches.stats.hits += reads.hits;
  caches.stats.misses += reads.misses;
  applyPhaseMs["fact cache hits"] = (applyPhaseMs["fact cache hits"] ?? 0) + reads.hits;
  applyPhaseMs["fact cache misses"] = (applyPhaseMs["fact cache misses"] ?? 0) + reads.misses;
  if (reads.hits > 0) metrics.factCacheReads.inc({ result: "hit" }, reads.hits);
  if (reads.misses > 0) metrics.factCacheReads.inc({ result: "miss" }, reads.misses);
  metrics.factCacheCustomers.set(caches.customers());
}
