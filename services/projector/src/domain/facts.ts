import { canonicalJson, compareStrings } from "./canonical-json.ts";
import type {
  ChargeSnapshot,
  CouponSnapshot,
  CustomerSnapshot,
  DiscountSnapshot,
  DisputeSnapshot,
  InvoiceSnapshot,
  PriceSnapshot,
  ProductSnapshot,
  RefundSnapshot,
  SubscriptionSnapshot,
} from "./snapshots.ts";

/**
 * Facts: for each Stripe object, the one snapshot that wins under the ordering rule, plus a few
 * order-free aggregates (max/min over every event seen). Every `evolve*` below is a join in a
 * semilattice — commutative, associative, idempotent — which is exactly what makes the fold
 * insensitive to duplicates, reordering and replays. Facts are plain JSON-able values so an
 * adapter can store them as they are.
 */

/** One snapshot of an object and the event that carried it. */
export interface Version<T> {
  /** `created` of the carrying event (unix seconds): the primary ordering key. */
  readonly at: number;
  readonly eventId: string;
  readonly eventType: string;
  /**
   * From a backfill snapshot. Ingest dates a snapshot at the latest change the object records,
   * and reads it afterwards, so at equal `created` it already includes every change of that
   * second and beats a webhook snapshot of the same second.
   */
  readonly backfill: boolean;
  /** Deletion is absorbing: a deleted version outranks every live one, whatever its time. */
  readonly deleted: boolean;
  readonly data: T;
}

export interface Fact<T> {
  readonly winner: Version<T>;
  /** Greatest event `created` seen for this object (feeds `last_event_at`). */
  readonly lastEventAt: number;
}

export interface CustomerFact extends Fact<CustomerSnapshot> {
  /**
   * `customer.created` is immutable, but a deletion stub (`{id, deleted: true}`) can win without
   * carrying it; the minimum over every snapshot keeps it.
   */
  readonly createdAt: number | null;
}

export interface ChargeFact extends Fact<ChargeSnapshot> {
  /**
   * Earliest `created` of a Stripe `charge.captured` webhook showing the charge captured: the
   * capture time of a charge authorised first and captured later. Optional: facts stored before
   * this field existed lack it.
   */
  readonly capturedAt?: number | null;
  /**
   * Latest `created` of a webhook showing the charge succeeded but not yet captured: a capture
   * seen only later (say, in a refund) happened after it.
   */
  readonly uncapturedAt?: number | null;
}

export type RefundFact = Fact<RefundSnapshot>;
export type DisputeFact = Fact<DisputeSnapshot>;
export type InvoiceFact = Fact<InvoiceSnapshot>;
export type SubscriptionFact = Fact<SubscriptionSnapshot>;
export type ProductFact = Fact<ProductSnapshot>;
export interface PriceFact extends Fact<PriceSnapshot> {
  /**
   * The tiers of a tiered price from any snapshot that carried them. Stripe includes `tiers`
   * only when asked (`expand[]=tiers`, as backfill does), so a later webhook of the same price
   * comes without them; a price's tiers cannot change, so any carrying snapshot will do, and the
   * smallest canonical JSON keeps the choice order-free. Optional: older stored facts lack it.
   */
  readonly tiers?: PriceSnapshot["tiers"];
}
export type CouponFact = Fact<CouponSnapshot>;
export type DiscountFact = Fact<DiscountSnapshot>;

// ---------------------------------------------------------------------------------------------
// Same-second tie-break: how far along its lifecycle a snapshot is. Stripe emits several events
// in the second an API call happens (e.g. `incomplete` then `active`); the later stage wins.
// Unknown statuses rank lowest so a new Stripe status never beats a known later stage.

const rankOf = (table: Readonly<Record<string, number>>, status: string | null): number =>
  status === null ? -1 : (table[status] ?? -1);

const CHARGE_STATUS_RANK: Readonly<Record<string, number>> = { pending: 0, failed: 1, succeeded: 1 };
const REFUND_STATUS_RANK: Readonly<Record<string, number>> = {
  pending: 0,
  requires_action: 0,
  succeeded: 1,
  failed: 1,
  canceled: 1,
};
const DISPUTE_STATUS_RANK: Readonly<Record<string, number>> = {
  warning_needs_response: 0,
  needs_response: 0,
  warning_under_review: 1,
  under_review: 1,
  warning_closed: 2,
  won: 2,
  lost: 2,
  prevented: 2,
};
const INVOICE_STATUS_RANK: Readonly<Record<string, number>> = {
  draft: 0,
  open: 1,
  uncollectible: 2,
  paid: 3,
  void: 3,
};
export const SUBSCRIPTION_LIFECYCLE_RANK: Readonly<Record<string, number>> = {
  incomplete: 0,
  trialing: 1,
  paused: 2,
  active: 3,
  past_due: 4,
  unpaid: 5,
  incomplete_expired: 6,
  canceled: 7,
};

type Rank<T> = (data: T) => readonly number[];

const noRank = (): readonly number[] => [];
// A charge also moves from uncaptured to captured and only ever gains refunds.
const chargeRank: Rank<ChargeSnapshot> = (c) => [
  rankOf(CHARGE_STATUS_RANK, c.status),
  c.captured ? 1 : 0,
  c.amountRefunded,
];
const refundRank: Rank<RefundSnapshot> = (r) => [rankOf(REFUND_STATUS_RANK, r.status)];
const disputeRank: Rank<DisputeSnapshot> = (d) => [rankOf(DISPUTE_STATUS_RANK, d.status)];
const invoiceRank: Rank<InvoiceSnapshot> = (i) => [rankOf(INVOICE_STATUS_RANK, i.status)];
const subscriptionRank: Rank<SubscriptionSnapshot> = (s) => [rankOf(SUBSCRIPTION_LIFECYCLE_RANK, s.status)];

const serialised = new WeakMap<object, string>();
const canonicalOf = (data: unknown): string => {
  if (data === null || typeof data !== "object") return canonicalJson(data);
  let json = serialised.get(data);
  if (json === undefined) {
    json = canonicalJson(data);
    serialised.set(data, json);
  }
  return json;
};

const compareNumbers = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

/**
 * The ordering rule (DOMAIN.md §2). Positive when `a` is the newer snapshot:
 * deleted first (absorbing), then greater event `created`, then a backfill snapshot over a
 * webhook of the same second, then lifecycle rank, then the
 * canonical JSON of the snapshot, then the event id. Never arrival order. The order is total, and
 * two versions that compare equal carry equal data, so keeping the maximum is a join.
 */
export const compareVersions = <T>(a: Version<T>, b: Version<T>, rank: Rank<T> = noRank): number => {
  // A version against itself (the MRR history's first step, a winner met again): equal by reflexivity.
  if (a === b) return 0;
  if (a.deleted !== b.deleted) return a.deleted ? 1 : -1;
  if (a.at !== b.at) return a.at - b.at;
  if (a.backfill !== b.backfill) return a.backfill ? 1 : -1;
  const byRank = compareNumbers(rank(a.data), rank(b.data));
  if (byRank !== 0) return byRank;
  // Only reached for same-second snapshots of the same rank. Snapshots are immutable and one is met
  // again and again (a winner against each newcomer, a subscription's versions in every history),
  // so each is serialised once.
  const byData = a.data === b.data ? 0 : compareStrings(canonicalOf(a.data), canonicalOf(b.data));
  if (byData !== 0) return byData;
  const byId = compareStrings(a.eventId, b.eventId);
  return byId !== 0 ? byId : compareStrings(a.eventType, b.eventType);
};

const newer = <T>(a: Version<T>, b: Version<T>, rank: Rank<T>): Version<T> =>
  compareVersions(a, b, rank) >= 0 ? a : b;

const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));

const evolveWith =
  <T>(rank: Rank<T>) =>
  (fact: Fact<T> | undefined, version: Version<T>): Fact<T> =>
    fact === undefined
      ? { winner: version, lastEventAt: version.at }
      : { winner: newer(fact.winner, version, rank), lastEventAt: Math.max(fact.lastEventAt, version.at) };

export const evolveRefund = evolveWith(refundRank);
export const evolveDispute = evolveWith(disputeRank);
export const evolveInvoice = evolveWith(invoiceRank);
export const evolveSubscription = evolveWith(subscriptionRank);
export const evolveProduct = evolveWith<ProductSnapshot>(noRank);
export const evolvePrice = (fact: PriceFact | undefined, version: Version<PriceSnapshot>): PriceFact => {
  const base = evolveWith<PriceSnapshot>(noRank)(fact, version);
  const known = fact?.tiers ?? null;
  const seen = version.data.tiers;
  const tiers =
    seen === null ? known : known === null || compareStrings(canonicalOf(seen), canonicalOf(known)) < 0 ? seen : known;
  return { ...base, tiers };
};
export const evolveCoupon = evolveWith<CouponSnapshot>(noRank);
export const evolveDiscount = evolveWith<DiscountSnapshot>(noRank);

/**
 * What a deleted customer's fact keeps: what the metrics need (id, currency, created) and nothing
 * personal. Applied to every deleted version before the join and to the winner after it (a fact
 * stored before this rule), so the join stays a join over scrubbed values and a deleted customer's
 * email, name, phone and metadata are never written to Postgres again.
 */
export const scrubDeletedCustomer = (version: Version<CustomerSnapshot>): Version<CustomerSnapshot> => {
  if (!version.deleted) return version;
  const d = version.data;
  if (
    d.email === null &&
    d.name === null &&
    d.phone === null &&
    d.discount === null &&
    isEmpty(d.metadata) &&
    d.country === undefined &&
    d.city === undefined &&
    d.balance === undefined &&
    d.delinquent === undefined
  )
    return version;
  return {
    ...version,
    data: {
      id: d.id,
      email: null,
      name: null,
      phone: null,
      currency: d.currency,
      created: d.created,
      metadata: {},
      discount: null,
    },
  };
};

const isEmpty = (o: object): boolean => {
  for (const _ in o) return false;
  return true;
};

export const evolveCustomer = (fact: CustomerFact | undefined, version: Version<CustomerSnapshot>): CustomerFact => {
  const base = evolveWith<CustomerSnapshot>(noRank)(fact, scrubDeletedCustomer(version));
  return {
    ...base,
    winner: scrubDeletedCustomer(base.winner),
    createdAt: minOf(fact?.createdAt ?? null, version.data.created),
  };
};

const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Besides the winning snapshot, two order-free bounds on when the charge was paid (see
 * `paidAt`): the first `charge.captured` webhook, and the last webhook that still showed it
 * uncaptured. A backfill snapshot's `created` is the object's latest change, never a capture.
 */
export const evolveCharge = (fact: ChargeFact | undefined, version: Version<ChargeSnapshot>): ChargeFact => {
  const base = evolveWith(chargeRank)(fact, version);
  const c = version.data;
  const webhook = !version.backfill;
  const captured = webhook && version.eventType === "charge.captured" && c.status === "succeeded" && c.captured;
  const uncaptured = webhook && c.status === "succeeded" && !c.captured;
  return {
    ...base,
    capturedAt: minOf(fact?.capturedAt ?? null, captured ? version.at : null),
    uncapturedAt: maxOf(fact?.uncapturedAt ?? null, uncaptured ? version.at : null),
  };
};

/**
 * When a succeeded charge was paid (DOMAIN.md: when it succeeded): the charge's own `created`,
 * which no later event (a refund, a dispute, a backfill read a year on) moves, unless the
 * payloads prove a later capture: then the `charge.captured` time, or at least the last time it
 * was still seen uncaptured.
 */
export const paidAt = (fact: ChargeFact): number => {
  const created = fact.winner.data.created ?? fact.winner.at;
  return fact.capturedAt ?? Math.max(created, fact.uncapturedAt ?? created);
};
