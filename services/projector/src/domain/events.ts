import { z } from "zod";
import type { ObjectKind, ObjectSnapshot } from "./snapshots.ts";
import { describeIssues, parseObjectSnapshot, unixTime } from "./stripe-objects.ts";

/*
 * The event envelope: webhooks and backfill snapshots alike. The object inside is parsed by
 * stripe-objects.ts, per kind.
 */

const str = z.string().nullish();
/** A JSON object, checked without copying it: its fields are parsed per kind afterwards. */
const jsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  { message: "expected an object" },
);

export const StripeEventSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  // Unix seconds; many events of one API call share a second, hence the tie-break rules.
  created: unixTime,
  data: z.object({ object: jsonObject }),
  api_version: str,
  livemode: z.boolean().nullish(),
  account: str,
  sbs_source: str,
});
export type StripeEvent = z.infer<typeof StripeEventSchema>;

export interface EventMeta {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly apiVersion: string | null;
  readonly livemode: boolean | null;
  readonly account: string | null;
  /**
   * A backfill snapshot (type `<object>.snapshot`, or `sbs_source: "backfill"` as ingest marks
   * them) rather than a Stripe webhook: read from a list endpoint after its `created`.
   */
  readonly backfill: boolean;
}

export type DecodedEvent =
  | {
      readonly meta: EventMeta;
      readonly outcome: "snapshot";
      readonly snapshot: ObjectSnapshot;
      /** The object no longer exists (`*.deleted` or a `deleted: true` stub): absorbing. */
      readonly deleted: boolean;
    }
  | { readonly meta: EventMeta; readonly outcome: "ignored"; readonly reason: string };

export type DecodeResult =
  | { readonly ok: true; readonly event: DecodedEvent }
  | { readonly ok: false; readonly reason: string };

const KINDS: ReadonlySet<string> = new Set<ObjectKind>([
  "customer",
  "charge",
  "refund",
  "dispute",
  "invoice",
  "subscription",
  "product",
  "price",
  "coupon",
  "discount",
]);
const isKind = (value: unknown): value is ObjectKind => typeof value === "string" && KINDS.has(value);

/** The id given to a pre-2015 dispute, which Stripe rendered without one. */
export const legacyDisputeId = (chargeId: string): string => `dp_legacy_${chargeId}`;

/**
 * Validates one Stripe event (webhook or backfill snapshot) and extracts the object snapshot it
 * carries. Any event whose `data.object.object` is a kind the read model uses is a snapshot of
 * that object, whatever its type string, so backfill events such as `customer.snapshot` need no
 * special case. Unknown kinds and objects without an id (`invoice.upcoming`) are `ignored`,
 * not errors: Stripe sends many event types the projector has no use for.
 */
export const decodeEvent = (raw: unknown): DecodeResult => {
  const envelope = StripeEventSchema.safeParse(raw);
  if (!envelope.success) return { ok: false, reason: describeIssues(envelope.error, "event") };
  const e = envelope.data;
  const meta: EventMeta = {
    id: e.id,
    type: e.type,
    created: e.created,
    apiVersion: e.api_version ?? null,
    livemode: e.livemode ?? null,
    account: e.account ?? null,
    backfill: e.sbs_source === "backfill" || e.type.endsWith(".snapshot"),
  };
  const received = e.data.object;
  const kind = received["object"];
  if (!isKind(kind)) {
    return { ok: true, event: { meta, outcome: "ignored", reason: `object kind ${String(kind)} is not projected` } };
  }
  // Disputes had no id before 2015: there was one per charge, so the charge names it.
  const legacyDispute = kind === "dispute" && received["id"] == null && typeof received["charge"] === "string";
  const object = legacyDispute ? { ...received, id: legacyDisputeId(String(received["charge"])) } : received;
  if (typeof object["id"] !== "string" || object["id"] === "") {
    // A dispute counts toward dispute_count: one that cannot be keyed is an error, not nothing.
    if (kind === "dispute") return { ok: false, reason: "data.object: dispute has neither id nor charge" };
    return { ok: true, event: { meta, outcome: "ignored", reason: `${kind} has no id` } };
  }
  const deleted = object["deleted"] === true || e.type.endsWith(".deleted");
  if (kind === "coupon" && deleted) {
    // Deleting a coupon stops new redemptions only; discounts already applied keep it.
    return { ok: true, event: { meta, outcome: "ignored", reason: "coupon deletion does not end its discounts" } };
  }
  const snapshot = parseObjectSnapshot(kind, object, deleted);
  if (!snapshot.ok) return { ok: false, reason: snapshot.reason };
  return { ok: true, event: { meta, outcome: "snapshot", snapshot: snapshot.value, deleted } };
};
