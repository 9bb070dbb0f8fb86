import type { DecodedEvent } from "./events.ts";

/**
 * The erasure list as the fold sees it: whether an id (a customer's, or one of its objects') was
 * erased. The adapter behind it holds digests, never the ids themselves (store/erasure-list.ts).
 */
export interface ErasedIds {
  /** Nothing erased: lets the hot path skip the lookup entirely. */
  readonly empty: boolean;
  has(id: string): boolean;
}

/**
 * The ids an event names that an erasure can be about: the object's own id, the customer it
 * belongs to, and the charge a refund or dispute is about (a dispute names no customer; its
 * charge does).
 */
export function idsNamedBy(event: DecodedEvent): string[] {
  if (event.outcome !== "snapshot") return [];
  const s = event.snapshot;
  const ids: string[] = [s.data.id];
  switch (s.kind) {
    case "charge":
    case "invoice":
    case "subscription":
    case "discount":
      if (s.data.customer !== null) ids.push(s.data.customer);
      break;
    case "refund":
    case "dispute":
      if (s.data.charge !== null) ids.push(s.data.charge);
      break;
    default:
      break;
  }
  return ids;
}

/** The event names an erased customer or object: it must not be folded (or copied, in compact-log). */
export function namesErased(event: DecodedEvent, erased: ErasedIds): boolean {
  if (erased.empty) return false;
  return idsNamedBy(event).some((id) => erased.has(id));
}

const refId = (value: unknown): string | undefined => {
  if (typeof value === "string") return value === "" ? undefined : value;
  if (typeof value === "object" && value !== null && "id" in value && typeof value.id === "string") return value.id;
  return undefined;
};

/**
 * The same ids read straight off a Stripe event's JSON, without validating it (`pnpm cli
 * compact-log` looks at every record of the log, and validation is most of decoding's cost): the
 * object's id, its `customer` and its `charge` (id or expanded object), for any kind. A superset of
 * `idsNamedBy` for the kinds the fold knows, which is the safe side for an erasure.
 */
export function rawIdsNamed(event: unknown): string[] {
  const object = (event as { data?: { object?: Record<string, unknown> } } | null)?.data?.object;
  if (typeof object !== "object" || object === null) return [];
  const ids: string[] = [];
  for (const value of [object["id"], object["customer"], object["charge"]]) {
    const id = refId(value);
    if (id !== undefined) ids.push(id);
  }
  return ids;
}
