import type { ClientBase } from "pg";
import type { DecodedEvent } from "../domain/index.ts";
import type { Locality } from "../projection/apply-events.ts";
import { requestDerive, slotOf } from "../store/slots.ts";

/** Catalog kinds every customer may look up; a discount belongs to one customer (its slot guards it). */
const SHARED_CATALOG = new Set(["product", "price", "coupon"]);

const isSharedCatalogChange = (event: DecodedEvent): boolean =>
  event.outcome === "snapshot" && SHARED_CATALOG.has(event.snapshot.kind);

/**
 * A transaction holding one of these snapshots takes its generation exclusively: any customer's
 * derivation may read the entry, so none may run beside the one that changes it. It derives
 * nobody itself: it asks each referencing customer's slot to derive it again (see `NOBODY`).
 */
export const changesSharedCatalog = (events: readonly DecodedEvent[]): boolean => events.some(isSharedCatalogChange);

/**
 * Where a batch splits into transactions, in offset order: each run of shared-catalog snapshots
 * of one account commits alone (and briefly) under the exclusive lock, everything else under the
 * slot's shared one. Without the split a catch-up batch of thousands of events that held a single
 * price change kept every other partition waiting for all of it (measured: two thirds of the
 * bench's 6,000-event batches did). One account per run: the referencing customers' slots are
 * computed with the entry's account.
 */
export function splitAtCatalog<T>(items: readonly T[], eventOf: (item: T) => DecodedEvent | undefined): T[][] {
  const runs: T[][] = [];
  let runKey: string | undefined;
  for (const item of items) {
    const event = eventOf(item);
    const key = event !== undefined && isSharedCatalogChange(event) ? `catalog:${event.meta.account}` : "slot";
    const last = runs[runs.length - 1];
    if (last !== undefined && key === runKey) last.push(item);
    else runs.push([item]);
    runKey = key;
  }
  return runs;
}

/** No customer is local: a catalog change's transaction requests every referencing customer from its slot. */
export const NOBODY: Locality = { isLocal: () => false };

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
