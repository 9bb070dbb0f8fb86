import { createHash } from "node:crypto";
import { z } from "zod";
import { type StripeEvent, stripeEventSchema } from "./envelope.ts";

/**
 * Backfill: a Stripe API object (current state, from a list endpoint) becomes a synthetic event
 * `<object>.snapshot` appended to the same topic as real events, so the projector folds both the
 * same way.
 *
 * Marking: the id starts with `evt_snapshot_`, the type ends with `.snapshot`, `request` is null,
 * `pending_webhooks` is 0 and a top-level `sbs_source: "backfill"` field says where it came from
 * (`request: null` alone also marks Stripe's own automatic changes, so it is not enough).
 *
 * Determinism: the id is a hash of everything in the event except the id, so re-running the
 * backfill over an unchanged object yields the same id and byte-identical payload (downstream
 * dedupe by id absorbs it), and any change of state yields a new id.
 */

export const SNAPSHOT_RESOURCES = [
  "customer",
  "subscription",
  "charge",
  "invoice",
  "dispute",
  "product",
  "price",
] as const;
export type SnapshotResource = (typeof SNAPSHOT_RESOURCES)[number];

export const SNAPSHOT_ID_PREFIX = "evt_snapshot_";
export const SNAPSHOT_SOURCE_FIELD = "sbs_source";
// Bump when the shape of snapshot events changes, so old and new snapshots never share an id.
const SNAPSHOT_FORMAT = "sbs-snapshot-v1";

export interface SnapshotOptions {
  /** The API version the object was fetched at (the SDK's pinned version); null if unknown. */
  readonly apiVersion: string | null;
  /** Connect account the object was read from (`Stripe-Account`); absent for the platform. */
  readonly account?: string;
}

export type SnapshotEvent = StripeEvent & { readonly sbs_source: "backfill" };

export type SnapshotResult =
  /** `payload` is what gets appended (the envelope's `payload`), `event` its parsed form. */
  | { readonly ok: true; readonly event: SnapshotEvent; readonly payload: string }
  | { readonly ok: false; readonly reason: "not_a_snapshot_object"; readonly message: string };

const apiObjectSchema = z.looseObject({
  id: z.string().min(1),
  object: z.enum(SNAPSHOT_RESOURCES),
  livemode: z.boolean(),
  created: z.int().nonnegative(),
});

/**
 * Timestamps an object records about its own past changes, per resource. Fields that can lie in
 * the future (trial_end, cancel_at, current_period_end, due_date, next_payment_attempt,
 * billing_cycle_anchor, evidence_details.due_by) are deliberately absent. `*` walks an array.
 */
const CHANGE_TIMESTAMPS: Readonly<Record<SnapshotResource, readonly (readonly string[])[]>> = {
  customer: [["created"]],
  subscription: [
    ["created"],
    ["start_date"],
    ["trial_start"],
    ["canceled_at"],
    ["ended_at"],
    // Top level before 2025-03-31.basil, per item since.
    ["current_period_start"],
    ["items", "data", "*", "current_period_start"],
  ],
  charge: [["created"], ["refunds", "data", "*", "created"]],
  invoice: [
    ["created"],
    ["status_transitions", "finalized_at"],
    ["status_transitions", "paid_at"],
    ["status_transitions", "voided_at"],
    ["status_transitions", "marked_uncollectible_at"],
  ],
  dispute: [["created"], ["balance_transactions", "*", "created"]],
  product: [["created"], ["updated"]],
  price: [["created"]],
};

/**
 * The snapshot's `created`: the latest change the object itself records, on Stripe's clock.
 *
 * The projector keeps, per object, the snapshot with the greater `created`. A snapshot is the
 * state at read time, so it must beat every event older than the object's last change and lose
 * to every real event after it. Our own clock at read time is not used: it is not Stripe's clock
 * (a skewed clock would let a snapshot beat a newer real event and freeze stale state) and it
 * would make re-runs produce different payloads. The latest recorded change is a lower bound of
 * the true last change, so a snapshot never beats a later real event; changes that leave no
 * timestamp (an email edit, a capture) can make a real event that is older than the read still
 * win, which only means the snapshot fills gaps rather than overriding what the log knows.
 * At equal `created` the snapshot already includes every change of that second (it was read
 * afterwards), so the projector's tie-break can prefer it (`sbs_source: "backfill"`).
 */
export function snapshotCreated(resource: SnapshotResource, object: Readonly<Record<string, unknown>>): number {
  let latest = 0;
  for (const path of CHANGE_TIMESTAMPS[resource]) {
    for (const value of valuesAt(object, path)) {
      if (typeof value === "number" && Number.isSafeInteger(value) && value > latest) latest = value;
    }
  }
  return latest;
}

function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  const [head, ...rest] = path;
  if (head === undefined) return [value];
  if (head === "*") return Array.isArray(value) ? value.flatMap((item) => valuesAt(item, rest)) : [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [];
  return valuesAt((value as Record<string, unknown>)[head], rest);
}

/** JSON with object keys sorted at every level: equal data gives equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function snapshotEventId(eventWithoutId: Readonly<Record<string, unknown>>): string {
  const digest = createHash("sha256").update(SNAPSHOT_FORMAT).update("\n").update(canonicalJson(eventWithoutId));
  return `${SNAPSHOT_ID_PREFIX}${digest.digest("hex").slice(0, 32)}`;
}

export function toSnapshotEvent(apiObject: unknown, options: SnapshotOptions): SnapshotResult {
  const parsed = apiObjectSchema.safeParse(apiObject);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.map(String).join(".") || "(root)");
    return { ok: false, reason: "not_a_snapshot_object", message: `invalid or missing: ${fields.join(", ")}` };
  }
  const object = parsed.data;
  // The object as the API returned it (zod's output would reorder its keys).
  const original = apiObject as Readonly<Record<string, unknown>>;
  return snapshotOf(original, object.object, snapshotCreated(object.object, original), object.livemode, options);
}

const discountSchema = z.looseObject({
  id: z.string().min(1),
  object: z.literal("discount"),
  start: z.int().nonnegative(),
});

/**
 * A discount (expanded from a subscription's `discounts`, or a customer's `discount`) as its own
 * snapshot event `discount.snapshot`. Discounts have no list endpoint, no `created` and no
 * `livemode`: it is dated at its `start` (a discount never changes after it starts; it only ends,
 * which Stripe reports as `customer.discount.deleted`) and takes the mode of the object it was
 * read from. Without it, a later webhook that lists the discount by id only (basil) would find
 * no discount to price.
 */
export function toDiscountSnapshotEvent(
  discount: unknown,
  options: SnapshotOptions & { readonly livemode: boolean },
): SnapshotResult {
  const parsed = discountSchema.safeParse(discount);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((issue) => issue.path.map(String).join(".") || "(root)");
    return {
      ok: false,
      reason: "not_a_snapshot_object",
      message: `discount: invalid or missing: ${fields.join(", ")}`,
    };
  }
  const original = discount as Readonly<Record<string, unknown>>;
  return snapshotOf(original, "discount", parsed.data.start, options.livemode, options);
}

function snapshotOf(
  original: Readonly<Record<string, unknown>>,
  kind: string,
  created: number,
  livemode: boolean,
  options: SnapshotOptions,
): SnapshotResult {
  const body = {
    object: "event",
    api_version: options.apiVersion,
    created,
    data: { object: original },
    livemode,
    pending_webhooks: 0,
    request: null,
    type: `${kind}.snapshot`,
    ...(options.account === undefined ? {} : { account: options.account }),
    [SNAPSHOT_SOURCE_FIELD]: "backfill",
  } as const;
  const withId = { id: snapshotEventId(body), ...body };
  const payload = JSON.stringify(withId);
  // Same schema as webhooks: a snapshot that ingest would refuse from Stripe is refused here too.
  const event = stripeEventSchema.safeParse(withId);
  if (!event.success) {
    return { ok: false, reason: "not_a_snapshot_object", message: "snapshot does not satisfy the event envelope" };
  }
  return { ok: true, event: { ...event.data, sbs_source: "backfill" }, payload };
}
