import type { ClientBase } from "pg";
import type { Locality } from "../projection/apply-events.ts";
import { requestDerive, slotOf } from "../store/slots.ts";

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
