import { inTransaction, type Logger } from "@sbs/shared";
import type { Pool } from "pg";
import type { ReadModelOptions } from "../domain/index.ts";
import type { ProjectorMetrics } from "../metrics.ts";
import { applyMrrHistory } from "../mrr-history/apply-history.ts";
import { applyEvents } from "../projection/apply-events.ts";
import { postgresProjectionStore } from "../projection/projection-store.ts";
import { pendingRequests, resolveChargeRequests, type SlotCounts, takeRequests, tryLockSlot } from "../store/slots.ts";
import { localTo } from "./slot-scope.ts";

export interface MailboxDrainDeps {
  readonly pool: Pool;
  readonly metrics: ProjectorMetrics;
  readonly logger: Logger;
  readonly readModel: ReadModelOptions;
  readonly synchronousCommit: boolean;
  readonly slots: SlotCounts;
}

/**
 * The supervisor's share of the mailboxes (README "Partition-parallel writes"): turns charge
 * requests whose charge is now known into derive requests, then derives the customers requested
 * from the slots of the partitions this instance owns. A slot's own batches take its requests
 * too; this is for partitions with no traffic. A slot whose batch holds its lock is skipped.
 */
export function createMailboxDrain(deps: MailboxDrainDeps) {
  const log = deps.logger.child({ component: "mailbox" });

  /** One slot's requests, if no batch holds the slot: the number of customers derived again. */
  const drainSlot = (generation: number, slots: number, slot: number): Promise<number> =>
    inTransaction(deps.pool, async (client) => {
      if (!(await tryLockSlot(client, generation, slot, deps.synchronousCommit))) return 0;
      const also = await takeRequests(client, generation, slot);
      if (also.length === 0) return 0;
      const scope = { locality: localTo(slot, slots), also };
      const result = await applyEvents(
        postgresProjectionStore(client, generation),
        [],
        deps.readModel,
        undefined,
        scope,
      );
      await applyMrrHistory(client, generation, [], deps.readModel, scope);
      deps.metrics.customersDerived.inc(result.customersDerived);
      return also.length;
    });

  /** Charge requests → derive requests, in one transaction (a crash between would lose them). */
  const resolveCharges = (generation: number, slots: number) =>
    inTransaction(deps.pool, (client) => resolveChargeRequests(client, generation, slots));

  const supervise = async (generation: number, assigned: readonly number[]): Promise<void> => {
    const slots = await deps.slots(generation);
    await resolveCharges(generation, slots).catch((error: unknown) =>
      log.warn({ err: error }, "resolving charge requests failed; retried at the next supervision"),
    );
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
    for (;;) {
      const pending = await pendingRequests(deps.pool, generation);
      if (pending.size === 0) return;
      for (const slot of pending.keys()) await drainSlot(generation, slots, slot);
    }
  };

  return { supervise, drainAll };
}
