/**
 * Redaction by value and by key name, wherever a value sits in a logged object or message.
 * Path lists (pino's `redact`) miss what nobody thought of: `customer_email` three levels deep,
 * an API key inside an error message, a password inside a connection string. Logs are shipped,
 * kept and widely readable; secrets and personal data must not reach them.
 */

export const REDACTED = "[redacted]";

/**
 * Keys whose value is hidden whatever it is. Compared lower-cased with `-` and `_` removed, by
 * substring, so `customer_email`, `EMAIL`, `BREVO_API_KEY`, `x-api-key` and `receipt_email` all match.
 */
const SENSITIVE_KEY_PARTS = [
  "email",
  "sms",
  "phone",
  "password",
  "passwd",
  "secret",
  "apikey",
  "authorization",
  "cookie",
  "token",
  "signature",
  "databaseurl",
];

export function isSensitiveKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_]/g, "");
  return SENSITIVE_KEY_PARTS.some((part) => k.includes(part));
}

/** Each pattern replaces what it matches; order matters only in that none overlaps another's output. */
const VALUE_PATTERNS: [RegExp, string | ((match: string, ...groups: string[]) => string)][] = [
  // scheme://user:password@host → keep the user and host (useful), hide the password.
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi, `$1${REDACTED}@`],
  // Brevo API/SMTP keys, Stripe secret/restricted keys, Stripe webhook secrets.
  [/xkeysib-[A-Za-z0-9-]+/g, REDACTED],
  [/xsmtpsib-[A-Za-z0-9-]+/g, REDACTED],
  [/\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+/g, REDACTED],
  [/\bwhsec_[A-Za-z0-9_]+/g, REDACTED],
  // Stripe-Signature values (t=…,v1=<64 hex>): the HMAC is not a secret but proves nothing to a reader.
  [/\bv[01]=[0-9a-fA-F]{64}\b/g, `v1=${REDACTED}`],
  // Emails anywhere in a string.
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, REDACTED],
];

/** Fast path: most strings contain none of these characters/prefixes and are returned untouched. */
const MAYBE_SENSITIVE = /@|xkeysib-|xsmtpsib-|_live_|_test_|whsec_|v[01]=/;

export function redactString(value: string): string {
  if (!MAYBE_SENSITIVE.test(value)) return value;
  let out = value;
  for (const [pattern, replacement] of VALUE_PATTERNS) {
    out = out.replace(pattern, replacement as string);
  }
  return out;
}

/** Postgres error fields that echo row values or SQL parameters (`detail: Key (email)=(ada@…)`). */
const DROPPED_ERROR_FIELDS = new Set([
  "detail",
  "where",
  "internalQuery",
  "query",
  "parameters",
  "params",
  "values",
  "hint",
]);

/**
 * A loggable form of an error: type, message, code, stack and cause, with every string redacted
 * and the fields that carry data (Postgres `detail`/`where`, query parameters) left out.
 */
export function serializeError(
  error: Error,
  seen: WeakSet<object> = new WeakSet(),
  depth = 0,
): Record<string, unknown> {
  seen.add(error);
  const out: Record<string, unknown> = {
    type: error.constructor?.name ?? error.name,
    message: redactString(error.message),
  };
  if (error.stack) out["stack"] = redactString(error.stack);
  for (const [key, value] of Object.entries(error)) {
    if (DROPPED_ERROR_FIELDS.has(key) || key === "message" || key === "stack") continue;
    out[key] = redactDeep(value, key, seen, depth + 1);
  }
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined && !("cause" in out)) out["cause"] = redactDeep(cause, "cause", seen, depth + 1);
  seen.delete(error);
  return out;
}

const MAX_DEPTH = 10;

/**
 * A copy of `value` with sensitive keys blanked, strings redacted by value and errors serialized.
 * Cycles and depth beyond MAX_DEPTH become markers instead of recursing forever.
 */
export function redactDeep(value: unknown, key = "", seen: WeakSet<object> = new WeakSet(), depth = 0): unknown {
  if (key !== "" && isSensitiveKey(key) && value !== undefined && value !== null && typeof value !== "boolean") {
    return REDACTED;
  }
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (value instanceof Error) return serializeError(value, seen, depth);
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  if (value instanceof Date) return value;
  // `seen` holds the current path only, so an object referenced twice (not a cycle) is logged twice.
  seen.add(value);
  let out: unknown;
  if (Array.isArray(value)) out = value.map((item) => redactDeep(item, "", seen, depth + 1));
  else {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) copy[k] = redactDeep(v, k, seen, depth + 1);
    out = copy;
  }
  seen.delete(value);
  return out;
}
