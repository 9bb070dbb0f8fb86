import { inTransaction, type Logger } from "@sbs/shared";
import type { Pool } from "pg";
import type { ReadModelOptions } from "../domain/index.ts";
import type { ProjectorMetrics } from "../metrics.ts";
import { applyMrrHistory } from "../mrr-history/apply-history.ts";
import { historiesReferencing } from "../mrr-history/history-store.ts";
import { applyEvents } from "../projection/apply-events.ts";
import type { FactCaches } from "../projection/fact-cache.ts";
import { customersReferencing } from "../store/customer-store.ts";
import {
  awaitSlotHolders,
  pendingCatalogRequests,
  pendingRequests,
  requestDerive,
  resolveChargeRequests,
  type SlotCounts,
  slotOf,
  takeCatalogRequests,
  tryLockSlot,
} from "../store/slots.ts";
import { countCacheReads, localTo, type OpenSlot, openSlot } from "./slot-scope.ts";

export interface MailboxDrainDeps {
  readonly pool: Pool;
  readonly metrics: ProjectorMetrics;
  readonly logger: Logger;
  readonly readModel: ReadModelOptions;
  readonly synchronousCommit: boolean;
  readonly slots: SlotCounts;
  readonly facts: FactCaches;
}

/**
 * The supervisor's share of the mailboxes (README "Partition-parallel writes"): turns charge
 * requests whose charge is now known, and catalog requests, into derive requests, then derives the customers requested
 * from the slots of the partitions this instance owns. A slot's own batches take its requests
 * too; this is for partitions with no traffic. A slot whose batch holds its lock is skipped.
 */
export function createMailboxDrain(deps: MailboxDrainDeps) {
  const log = deps.logger.child({ component: "mailbox" });

  /** One slot's requests, if no batch holds the slot: the number of customers derived again. */
  const drainSlot = async (generation: number, slots: number, slot: number): Promise<number> => {
    // The slot's cache, as its batches use it (they never run beside this: both hold the slot's lock).
    const cache = deps.facts.of(generation, slot, slots);
    let opened: OpenSlot | undefined;
    try {
      const drained = await inTransaction(deps.pool, async (client) => {
        if (!(await tryLockSlot(client, generation, slot, deps.synchronousCommit))) return 0;
        opened = await openSlot(client, generation, slot, cache);
        const also = opened.requested;
        if (also.length === 0) return 0;
        const scope = { locality: localTo(slot, slots), also, catalogReferences: "defer" } as const;
        const result = await applyEvents(opened.store, [], deps.readModel, undefined, scope);
        await applyMrrHistory(client, generation, [], deps.readModel, scope);
        deps.metrics.customersDerived.inc(result.customersDerived);
        return also.length;
      });
      if (opened !== undefined) {
        opened.commit();
        countCacheReads(deps.metrics, deps.facts, opened.reads);
      }
      return drained;
    } catch (error) {
      cache?.reset();
      throw error;
    }
  };

  /** Charge requests → derive requests, in one transaction (a crash between would lose them). */
  const resolveCharges = (generation: number, slots: number) =>
    inTransaction(deps.pool, (client) => resolveChargeRequests(client, generation, slots));

  /**
   * Catalog requests → derive requests for every customer whose row or MRR history references a
   * changed entry. Only after every slot's transaction that was open when the requests were read
   * has ended: such a transaction may have derived a customer from the entry's old state, and its
   * reference is visible only once it committed. A transaction that started later read the new
   * state. Claimed and turned into derive requests in one transaction (a crash keeps them).
   */
  const resolveCatalog = async (generation: number, slots: number): Promise<number> => {
    const ids = await pendingCatalogRequests(deps.pool, generation);
    if (ids.length === 0) return 0;
    await awaitSlotHolders(deps.pool, generation, slots);
    return inTransaction(deps.pool, async (client) => {
      const refs = await takeCatalogRequests(client, generation, ids);
      const requests = new Map<string, number>();
      // Entries of one account are referenced by customers of that account (Stripe's rule).
      const byAccount = new Map<string | null, string[]>();
      for (const [ref, account] of refs) byAccount.set(account, [...(byAccount.get(account) ?? []), ref]);
      for (const [account, list] of byAccount) {
        const customers = [
          ...(await customersReferencing(client, generation, list)),
          ...(await historiesReferencing(client, generation, list)),
        ];
        for (const id of customers) requests.set(id, slotOf(id, account, slots));
      }
      await requestDerive(
        client,
        generation,
        [...requests].map(([customerId, slot]) => ({ customerId, slot })),
      );
      return requests.size;
    });
  };

  /** Turns charge and catalog requests into derive requests; a failure is retried next time. */
  const resolve = async (generation: number, slots: number) => {
    await resolveCharges(generation, slots).catch((error: unknown) =>
      log.warn({ err: error }, "resolving charge requests failed; retried at the next supervision"),
    );
    await resolveCatalog(generation, slots).catch((error: unknown) =>
      log.warn({ err: error }, "resolving catalog requests failed; retried at the next supervision"),
    );
  };

  const supervise = async (generation: number, assigned: readonly number[]): Promise<void> => {
    const slots = await deps.slots(generation);
    await resolve(generation, slots);
    const pending = await pendingRequests(deps.pool, generation);
    deps.metrics.deriveRequests.set([...pending.values()].reduce((a, b) => a + b, 0));
    for (const slot of assigned) {
      if (slot >= slots || !pending.has(slot)) continue;
      const drained = await drainSlot(generation, slots, slot);
      if (drained > 0) log.debug({ slot, customers: drained }, "derived requested customers");
    }
  };

  /**
   * Every slot's requests, until none is left: a batch-by-batch rebuild calls it once its
   * consumer has stopped, before the generation can go live.
   */
  const drainAll = async (generation: number): Promise<void> => {
    const slots = await deps.slots(generation);
    await resolveCharges(generation, slots);
    await resolveCatalog(generation, slots);
    for (;;) {
      const pending = await pendingRequests(deps.pool, generation);
      if (pending.size === 0) return;
      for (const slot of pending.keys()) await drainSlot(generation, slots, slot);
    }
  };

  return { supervise, drainAll };
}
