/**
 * Postgres cannot store U+0000 in `text` or `jsonb` (SQLSTATE 22P05 / 22021), and its JSON parser
 * refuses unpaired UTF-16 surrogates. Stripe accepts both in free-text fields (a name, a metadata
 * value), so an event carrying one would be refused on every attempt. Decision: the projection
 * stores U+FFFD (the replacement character) in their place, in values and keys alike; the Kafka
 * record keeps the original bytes, so nothing is lost for a future reader that can store them.
 * Dead-lettering such an event instead would drop the whole customer (email included) for one
 * unprintable character.
 */

/** Cheap test on the JSON text: NUL can only appear escaped, and so can an unpaired surrogate. */
const SUSPECT = /\\u0000|\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

export function needsStorableText(json: string): boolean {
  return SUSPECT.test(json);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const storable = (s: string): string => s.replaceAll("\u0000", "\uFFFD").replace(LONE_SURROGATE, "\uFFFD");

/** A copy of a parsed JSON value with every string (and key) storable in Postgres. */
export function toStorableText(value: unknown): unknown {
  if (typeof value === "string") return storable(value);
  if (Array.isArray(value)) return value.map(toStorableText);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storable(k)] = toStorableText(v);
    return out;
  }
  return value;
}
