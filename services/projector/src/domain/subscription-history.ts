import type { DecodedEvent } from "./events.ts";
import { compareVersions, SUBSCRIPTION_LIFECYCLE_RANK, type Version } from "./facts.ts";
import { versionOf } from "./fold.ts";
import type { SubscriptionSnapshot } from "./snapshots.ts";

/**
 * The snapshots of one subscription over time: the facts the MRR history is derived from.
 *
 * A subscription's fact keeps only the winning snapshot (the state *now*); the history needs the
 * state at every instant, i.e. the winner among the snapshots dated at or before it. A snapshot
 * that an earlier-or-equal-dated one already outranks can never be that winner (the outranking
 * one is in every prefix it is in), so the set keeps only the others. `joinVersion` adds one
 * snapshot and drops the outranked: the result depends only on the set of snapshots ever added —
 * commutative, associative, idempotent — so duplicates and delivery order do not matter.
 */
export type SubscriptionVersions = readonly Version<SubscriptionSnapshot>[];

const subscriptionRank = (s: SubscriptionSnapshot): readonly number[] => [SUBSCRIPTION_LIFECYCLE_RANK[s.status] ?? -1];

/** Positive when `a` outranks `b` under the fold's ordering rule (same as the fact's winner). */
export const compareSubscriptionVersions = (
  a: Version<SubscriptionSnapshot>,
  b: Version<SubscriptionSnapshot>,
): number => compareVersions(a, b, subscriptionRank);

/**
 * `b` can never be the winner at any instant once `a` is in the set. The order is total and
 * equal only for equal snapshots, so `>= 0` also folds away a duplicate (while an event id reused
 * with other content stays a separate snapshot, whichever arrives first).
 */
const covers = (a: Version<SubscriptionSnapshot>, b: Version<SubscriptionSnapshot>): boolean =>
  a.at <= b.at && compareSubscriptionVersions(a, b) >= 0;

/**
 * Adds `version` to the set, dropping what it outranks, or returns `versions` itself when the
 * version adds nothing (a duplicate, or outranked by a kept one). Kept sorted by time, then rank,
 * so equal sets are equal arrays.
 */
export const joinVersion = (
  versions: SubscriptionVersions,
  version: Version<SubscriptionSnapshot>,
): SubscriptionVersions => {
  for (const kept of versions) if (covers(kept, version)) return versions;
  const next = versions.filter((kept) => !covers(version, kept));
  next.push(version);
  next.sort((a, b) => a.at - b.at || compareSubscriptionVersions(a, b));
  return next;
};

export const joinVersions = (a: SubscriptionVersions, b: SubscriptionVersions): SubscriptionVersions =>
  b.reduce(joinVersion, a);

/** Subscription id → its snapshot set, for folds that hold everything in memory. */
export type HistoryState = Map<string, SubscriptionVersions>;

/** Adds the subscription snapshot an event carries (if any) to `state`, in place. */
export const collectSubscriptionVersion = (state: HistoryState, event: DecodedEvent): void => {
  if (event.outcome !== "snapshot" || event.snapshot.kind !== "subscription") return;
  const data = event.snapshot.data;
  const version = versionOf(event, data);
  state.set(data.id, joinVersion(state.get(data.id) ?? [], version));
};
