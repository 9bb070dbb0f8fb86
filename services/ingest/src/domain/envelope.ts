import { z } from "zod";

/**
 * The Stripe event envelope, validated only as far as ingest needs it (id, type, created, mode,
 * account, data.object). Everything else stays loose: a signed Stripe event that ingest refused
 * would be retried for days and then get the endpoint disabled, and the raw payload travels on
 * untouched anyway.
 */

// Stripe `created` is unix seconds; a millisecond value (≥ 1e11, year 5138 in seconds) is a bug upstream.
const MAX_UNIX_SECONDS = 99_999_999_999;

const unixSeconds = z.int().nonnegative().max(MAX_UNIX_SECONDS, "must be unix seconds");

export const stripeObjectSchema = z.looseObject({
  // Absent on some events (invoice.upcoming): such events cannot be keyed.
  id: z.string().min(1).optional(),
  object: z.string().min(1).optional(),
});

export const stripeEventSchema = z.looseObject({
  id: z.string().startsWith("evt_").min(5),
  object: z.literal("event"),
  type: z.string().min(1),
  created: unixSeconds,
  livemode: z.boolean(),
  // null on events of accounts without a pinned version; normalised to null when absent.
  api_version: z.string().nullable().default(null),
  // Set on Connect events: the connected account the event belongs to.
  account: z.string().min(1).optional(),
  data: z.looseObject({
    object: stripeObjectSchema,
    previous_attributes: z.looseObject({}).optional(),
  }),
  // An object `{id, idempotency_key}` since 2017-05-25, a bare request id before, null for
  // automatic changes and for our own backfill snapshots.
  request: z
    .union([
      z.looseObject({ id: z.string().nullable(), idempotency_key: z.string().nullable().optional() }),
      z.string(),
    ])
    .nullable()
    .optional(),
});

export type StripeEvent = z.output<typeof stripeEventSchema>;

export type EnvelopeParseResult =
  /** `payload` is the body decoded as UTF-8, exactly as received: what gets appended. */
  | {
      readonly ok: true;
      readonly kind: "keyed";
      readonly event: StripeEvent;
      readonly objectId: string;
      readonly payload: string;
    }
  /** No `data.object.id` and nothing else to key it by (cash_balance…): log and acknowledge, do not append. */
  | { readonly ok: true; readonly kind: "unkeyed"; readonly event: StripeEvent; readonly payload: string }
  | { readonly ok: false; readonly reason: "not_json" }
  | { readonly ok: false; readonly reason: "invalid_envelope"; readonly message: string };

// fatal: invalid UTF-8 is refused instead of being silently replaced by U+FFFD; ignoreBOM: a BOM
// is kept rather than stripped (and then fails JSON.parse). Either would make the stored payload
// differ from the signed bytes.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Call only after the signature has been verified on the same bytes. */
export function parseStripeEvent(rawBody: Uint8Array): EnvelopeParseResult {
  let payload: string;
  let json: unknown;
  try {
    payload = utf8.decode(rawBody);
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: "not_json" };
  }
  const parsed = stripeEventSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: "invalid_envelope", message: describeIssues(parsed.error) };
  const event = parsed.data;
  const objectId = event.data.object.id ?? upcomingInvoiceId(event.data.object);
  if (objectId === undefined) return { ok: true, kind: "unkeyed", event, payload };
  return { ok: true, kind: "keyed", event, objectId, payload };
}

/**
 * An invoice preview (`invoice.upcoming`) has no id: it is a reminder that a customer's renewal
 * is coming, not a stored invoice. It is stored keyed by its customer (routing.ts) so the sink can
 * send a renewal reminder and a replay sees it; this id, deterministic over the preview's own
 * fields (customer, subscription, the attempt it announces), names it in logs and in the Brevo
 * event (`object_id`). Undefined for anything else without an id, or a preview without customer.
 */
export function upcomingInvoiceId(object: Readonly<Record<string, unknown>>): string | undefined {
  if (object["object"] !== "invoice" || object["id"] !== undefined) return undefined;
  const customer = object["customer"];
  if (typeof customer !== "string" || customer === "") return undefined;
  const subscription = typeof object["subscription"] === "string" ? object["subscription"] : "none";
  const at = object["next_payment_attempt"] ?? object["period_end"] ?? "unscheduled";
  return `upcoming_${customer}_${subscription}_${String(at)}`;
}

/**
 * Paths and issue codes only. zod's own messages can quote expected values, and a future version
 * might quote received ones; the payload can hold PII, so nothing of it is echoed.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)"}: ${issue.code}`)
    .join("; ");
}
