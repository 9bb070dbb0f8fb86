import type { AttributeValue } from "./fields.ts";

/**
 * What one Brevo contact holds, as far as the sink is concerned. The desired state is computed
 * from the read model; the last pushed state is the same shape, recorded only after Brevo
 * confirmed it. `null` attribute = absent/cleared.
 */
export interface ContactState {
  /** Stripe customer id; Brevo's ext_id. */
  readonly extId: string;
  readonly email: string | null;
  readonly attributes: Readonly<Record<string, AttributeValue | null>>;
  /** Sorted ascending, no duplicates. */
  readonly lists: readonly number[];
  /** The sink deleted the contact (deleted_customers: delete_contact). */
  readonly deleted: boolean;
}

export const sortedLists = (ids: Iterable<number>): number[] => [...new Set(ids)].sort((a, b) => a - b);
