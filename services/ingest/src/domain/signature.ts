import { createHmac, timingSafeEqual as nodeTimingSafeEqual } from "node:crypto";
import { z } from "zod";

/**
 * Stripe-Signature verification over the raw request bytes.
 *
 * Header: `t=<unix seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`, signature =
 * hex(HMAC-SHA256(secret, `${t}.${rawBody}`)). Unlike stripe-node's `constructEvent`, the
 * timestamp window is checked on both sides and a tolerance of 0 is refused by the config
 * validator instead of meaning "no check".
 */

export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface WebhookSecret {
  /** Safe to log and to put in Kafka headers (`verified_by`); the secret itself never is. */
  readonly name: string;
  readonly secret: string;
}

export interface SignatureConfig {
  /** Every secret is tried: several are valid while a secret is rolled or with several endpoints. */
  readonly secrets: readonly WebhookSecret[];
  readonly toleranceSeconds: number;
}

export interface SignatureDeps {
  /** Current time in epoch MILLISECONDS (`Date.now` fits). */
  readonly now: () => number;
  /** Injected only so tests can prove the constant-time path is taken. */
  readonly timingSafeEqual?: (a: Buffer, b: Buffer) => boolean;
}

export type SignatureFailureReason =
  | "missing_header"
  | "malformed_header"
  | "no_v1_signature"
  | "timestamp_too_old"
  | "timestamp_in_future"
  | "signature_mismatch";

/** Carries neither secrets nor signatures, so it can be logged and returned to the client as is. */
export type SignatureResult =
  | { readonly ok: true; readonly secretName: string; readonly timestamp: number }
  | { readonly ok: false; readonly reason: SignatureFailureReason };

export interface ParsedSignatureHeader {
  readonly timestamp: number;
  readonly v1: readonly Buffer[];
}

/** A trailing newline from an env file is the classic cause of "every signature fails". */
const secretSchema = z
  .string()
  .min(1, "secret must not be empty")
  .refine((s) => s.trim() === s, "secret must not have leading or trailing whitespace");

export const signatureConfigSchema = z.object({
  secrets: z
    .array(z.object({ name: z.string().min(1), secret: secretSchema }))
    .min(1, "at least one webhook secret is required")
    .refine((list) => new Set(list.map((s) => s.name)).size === list.length, "secret names must be unique"),
  // 0 would mean "no timestamp check" in stripe-node, which re-opens replay attacks: refused.
  toleranceSeconds: z.int().positive().max(86_400).default(DEFAULT_TOLERANCE_SECONDS),
});

export type SignatureConfigInput = z.input<typeof signatureConfigSchema>;

/** Reports every problem at once; messages name paths and rules, never values (no secret leaks). */
export function validateSignatureConfig(
  input: unknown,
): { readonly ok: true; readonly config: SignatureConfig } | { readonly ok: false; readonly issues: string[] } {
  const parsed = signatureConfigSchema.safeParse(input);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`),
  };
}

const TIMESTAMP_PATTERN = /^\d{1,12}$/;
const V1_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * Strict parse: every element must be `key=value`, exactly one `t`, and every `v1` must be
 * 64 hex characters. Unknown schemes (`v0`, future ones) are ignored.
 */
export function parseSignatureHeader(
  header: string,
):
  | { readonly ok: true; readonly header: ParsedSignatureHeader }
  | { readonly ok: false; readonly reason: "malformed_header" | "no_v1_signature" } {
  let timestamp: number | undefined;
  const v1: Buffer[] = [];
  for (const rawItem of header.split(",")) {
    const item = rawItem.trim();
    const eq = item.indexOf("=");
    if (eq <= 0) return { ok: false, reason: "malformed_header" };
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (key === "t") {
      if (timestamp !== undefined || !TIMESTAMP_PATTERN.test(value)) return { ok: false, reason: "malformed_header" };
      timestamp = Number(value);
    } else if (key === "v1") {
      if (!V1_PATTERN.test(value)) return { ok: false, reason: "malformed_header" };
      v1.push(Buffer.from(value, "hex"));
    }
  }
  if (timestamp === undefined) return { ok: false, reason: "malformed_header" };
  if (v1.length === 0) return { ok: false, reason: "no_v1_signature" };
  return { ok: true, header: { timestamp, v1 } };
}

/** HMAC over the bytes as received: `${t}.` followed by the body, never a decoded/re-encoded string. */
export function computeSignature(rawBody: Uint8Array, timestamp: number, secret: string): Buffer {
  return createHmac("sha256", secret).update(`${timestamp}.`, "utf8").update(rawBody).digest();
}

/**
 * Everything that can be decided without the body: header present once, well formed, with a
 * timestamp inside the window. The HTTP layer calls it before reading a single body byte, so a
 * request that cannot verify costs no buffering.
 */
export function checkSignatureHeader(
  header: string | readonly string[] | undefined,
  config: SignatureConfig,
  deps: Pick<SignatureDeps, "now">,
):
  | { readonly ok: true; readonly header: ParsedSignatureHeader }
  | { readonly ok: false; readonly reason: Exclude<SignatureFailureReason, "signature_mismatch"> } {
  // Several values mean the header was sent several times: ambiguous, refused.
  if (typeof header !== "string" && header !== undefined && header.length > 1) {
    return { ok: false, reason: "malformed_header" };
  }
  const value = typeof header === "string" ? header : header?.[0];
  if (value === undefined || value.trim() === "") return { ok: false, reason: "missing_header" };

  const parsed = parseSignatureHeader(value);
  if (!parsed.ok) return parsed;

  // Same rounding as stripe-node (whole seconds), on both sides of the window. Written as
  // negated `<=` so an unvalidated NaN tolerance or clock fails closed instead of skipping the check.
  const age = Math.floor(deps.now() / 1000) - parsed.header.timestamp;
  if (!(age <= config.toleranceSeconds)) return { ok: false, reason: "timestamp_too_old" };
  if (!(-age <= config.toleranceSeconds)) return { ok: false, reason: "timestamp_in_future" };
  return parsed;
}

/**
 * Order: header shape, then the timestamp window (cheap, so replays of old deliveries cost no
 * HMAC over a large body), then the HMAC against every secret × every v1. There is no early
 * exit inside the comparison loop, so timing does not depend on which v1 or secret matched.
 */
export function verifyStripeSignature(
  rawBody: Uint8Array,
  header: string | readonly string[] | undefined,
  config: SignatureConfig,
  deps: SignatureDeps,
): SignatureResult {
  const checked = checkSignatureHeader(header, config, deps);
  if (!checked.ok) return checked;
  const { timestamp, v1 } = checked.header;

  const equal = deps.timingSafeEqual ?? nodeTimingSafeEqual;
  let matched: string | undefined;
  for (const { name, secret } of config.secrets) {
    const expected = computeSignature(rawBody, timestamp, secret);
    let secretMatched = false;
    for (const candidate of v1) {
      // Both sides are 32 bytes: V1_PATTERN guarantees it for the candidate.
      if (equal(expected, candidate)) secretMatched = true;
    }
    if (secretMatched && matched === undefined) matched = name;
  }
  if (matched === undefined) return { ok: false, reason: "signature_mismatch" };
  return { ok: true, secretName: matched, timestamp };
}
