import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { objects, stripeEventBody, stripeSignatureHeader, v1Of } from "../testing/stripe-signing.ts";
import {
  computeSignature,
  DEFAULT_TOLERANCE_SECONDS,
  type SignatureConfig,
  type SignatureResult,
  validateSignatureConfig,
  verifyStripeSignature,
} from "./signature.ts";

const NOW_S = 1_721_954_100;
const NOW_MS = NOW_S * 1000 + 999; // sub-second part must not matter
const clock = { now: () => NOW_MS };

const PRIMARY = "whsec_primary_0123456789abcdefABCDEF";
const ROLLED = "whsec_rolled_fedcba9876543210FEDCBA";
const OTHER = "whsec_some_other_endpoint_secret";

const config: SignatureConfig = {
  secrets: [{ name: "primary", secret: PRIMARY }],
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
};
const rotating: SignatureConfig = {
  secrets: [
    { name: "primary", secret: PRIMARY },
    { name: "rolled", secret: ROLLED },
  ],
  toleranceSeconds: DEFAULT_TOLERANCE_SECONDS,
};

const raw = stripeEventBody({ type: "charge.succeeded", object: objects.charge("cus_QXg1o8vcGmoR32") });
const body = Buffer.from(raw, "utf8");
const signed = stripeSignatureHeader(raw, PRIMARY, NOW_S);
const hexOf = (secret: string, t: number, bytes: Uint8Array = body) =>
  computeSignature(bytes, t, secret).toString("hex");

function verify(rawBody: Uint8Array, header: string | readonly string[] | undefined, cfg = config): SignatureResult {
  return verifyStripeSignature(rawBody, header, cfg, clock);
}

describe("verifyStripeSignature", () => {
  it("accepts a payload signed by the stripe SDK and names the secret that verified it", () => {
    expect(verify(body, signed)).toEqual({ ok: true, secretName: "primary", timestamp: NOW_S });
  });

  it("computes the same HMAC as the stripe SDK", () => {
    expect(hexOf(PRIMARY, NOW_S)).toBe(v1Of(signed));
  });

  const v1 = v1Of(signed);
  const flipped = `${v1.slice(0, -1)}${v1.endsWith("0") ? "1" : "0"}`;
  const compact = Buffer.from(JSON.stringify(JSON.parse(raw)), "utf8");

  const rejected: ReadonlyArray<{
    name: string;
    body?: Uint8Array;
    header: string | readonly string[] | undefined;
    reason: string;
  }> = [
    { name: "no header", header: undefined, reason: "missing_header" },
    { name: "empty header", header: "", reason: "missing_header" },
    { name: "blank header", header: "   ", reason: "missing_header" },
    { name: "header sent twice", header: [signed, signed], reason: "malformed_header" },
    { name: "header sent twice, joined by node", header: `${signed}, ${signed}`, reason: "malformed_header" },
    { name: "empty header list", header: [], reason: "missing_header" },
    { name: "garbage header", header: "not a signature", reason: "malformed_header" },
    { name: "element without =", header: `${signed},junk`, reason: "malformed_header" },
    { name: "no timestamp", header: `v1=${v1}`, reason: "malformed_header" },
    { name: "non-numeric timestamp", header: `t=abc,v1=${v1}`, reason: "malformed_header" },
    { name: "negative timestamp", header: `t=-${NOW_S},v1=${v1}`, reason: "malformed_header" },
    { name: "fractional timestamp", header: `t=${NOW_S}.5,v1=${v1}`, reason: "malformed_header" },
    { name: "two timestamps", header: `t=${NOW_S},t=${NOW_S},v1=${v1}`, reason: "malformed_header" },
    { name: "non-hex v1", header: `t=${NOW_S},v1=${"z".repeat(64)}`, reason: "malformed_header" },
    { name: "short v1", header: `t=${NOW_S},v1=${v1.slice(0, 62)}`, reason: "malformed_header" },
    { name: "long v1", header: `t=${NOW_S},v1=${v1}00`, reason: "malformed_header" },
    { name: "empty v1", header: `t=${NOW_S},v1=`, reason: "malformed_header" },
    { name: "v0 only", header: `t=${NOW_S},v0=${v1}`, reason: "no_v1_signature" },
    { name: "timestamp only", header: `t=${NOW_S}`, reason: "no_v1_signature" },
    { name: "scheme in upper case", header: `t=${NOW_S},V1=${v1}`, reason: "no_v1_signature" },
    { name: "bad HMAC (all zeros)", header: `t=${NOW_S},v1=${"0".repeat(64)}`, reason: "signature_mismatch" },
    { name: "bad HMAC (one nibble flipped)", header: `t=${NOW_S},v1=${flipped}`, reason: "signature_mismatch" },
    { name: "wrong secret", header: stripeSignatureHeader(raw, OTHER, NOW_S), reason: "signature_mismatch" },
    {
      name: "signature of another timestamp (replay with a fresh t)",
      header: `t=${NOW_S + 1},v1=${v1}`,
      reason: "signature_mismatch",
    },
    {
      name: "stale timestamp (301 s)",
      header: stripeSignatureHeader(raw, PRIMARY, NOW_S - 301),
      reason: "timestamp_too_old",
    },
    {
      name: "stale timestamp (a day)",
      header: stripeSignatureHeader(raw, PRIMARY, NOW_S - 86_400),
      reason: "timestamp_too_old",
    },
    {
      name: "future timestamp (301 s)",
      header: stripeSignatureHeader(raw, PRIMARY, NOW_S + 301),
      reason: "timestamp_in_future",
    },
    {
      name: "future timestamp (a year), which stripe-node would accept",
      header: stripeSignatureHeader(raw, PRIMARY, NOW_S + 31_536_000),
      reason: "timestamp_in_future",
    },
    { name: "re-serialised body (compact JSON)", body: compact, header: signed, reason: "signature_mismatch" },
    { name: "truncated body", body: body.subarray(0, body.length - 1), header: signed, reason: "signature_mismatch" },
    {
      name: "body cut in half",
      body: body.subarray(0, body.length >> 1),
      header: signed,
      reason: "signature_mismatch",
    },
    {
      name: "body with a trailing newline",
      body: Buffer.concat([body, Buffer.from("\n")]),
      header: signed,
      reason: "signature_mismatch",
    },
    { name: "empty body", body: Buffer.alloc(0), header: signed, reason: "signature_mismatch" },
  ];

  it.each(rejected)("rejects $name with $reason", (row) => {
    expect(verify(row.body ?? body, row.header)).toEqual({ ok: false, reason: row.reason });
  });

  it("accepts a header given as a one-element list", () => {
    expect(verify(body, [signed])).toMatchObject({ ok: true, secretName: "primary" });
  });

  it("accepts timestamps exactly at both edges of the window", () => {
    for (const t of [NOW_S - 300, NOW_S + 300]) {
      expect(verify(body, stripeSignatureHeader(raw, PRIMARY, t))).toMatchObject({ ok: true, timestamp: t });
    }
  });

  it("honours a configured tolerance on both sides", () => {
    const tight = { ...config, toleranceSeconds: 5 };
    expect(verify(body, stripeSignatureHeader(raw, PRIMARY, NOW_S - 5), tight).ok).toBe(true);
    expect(verify(body, stripeSignatureHeader(raw, PRIMARY, NOW_S - 6), tight)).toEqual({
      ok: false,
      reason: "timestamp_too_old",
    });
    expect(verify(body, stripeSignatureHeader(raw, PRIMARY, NOW_S + 6), tight)).toEqual({
      ok: false,
      reason: "timestamp_in_future",
    });
  });

  it("fails closed when handed an unvalidated NaN tolerance or clock", () => {
    expect(verify(body, signed, { ...config, toleranceSeconds: Number.NaN }).ok).toBe(false);
    expect(verifyStripeSignature(body, signed, config, { now: () => Number.NaN }).ok).toBe(false);
  });

  it("reads the injected clock (epoch milliseconds) on every call", () => {
    let now = NOW_MS;
    const deps = { now: () => now };
    expect(verifyStripeSignature(body, signed, config, deps).ok).toBe(true);
    now += 301_000;
    expect(verifyStripeSignature(body, signed, config, deps)).toEqual({ ok: false, reason: "timestamp_too_old" });
  });

  it("ignores v0 and unknown schemes next to a valid v1, and tolerates spaces after commas", () => {
    const header = `t=${NOW_S}, v0=${"a".repeat(64)}, v9=whatever, v1=${v1}`;
    expect(verify(body, header)).toMatchObject({ ok: true, secretName: "primary" });
  });

  it("verifies the raw bytes, not a decoded string (invalid UTF-8 still verifies when signed)", () => {
    const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const header = `t=${NOW_S},v1=${hexOf(PRIMARY, NOW_S, bytes)}`;
    expect(verify(bytes, header).ok).toBe(true);
    expect(verify(new Uint8Array(bytes), header).ok).toBe(true);
  });
});

describe("secret rotation", () => {
  it.each([
    { secret: PRIMARY, name: "primary" },
    { secret: ROLLED, name: "rolled" },
  ])("accepts a payload signed with $name when both are configured", ({ secret, name }) => {
    expect(verify(body, stripeSignatureHeader(raw, secret, NOW_S), rotating)).toEqual({
      ok: true,
      secretName: name,
      timestamp: NOW_S,
    });
  });

  it("accepts a header with two v1 values where only the second matches", () => {
    const header = `t=${NOW_S},v1=${hexOf(OTHER, NOW_S)},v1=${hexOf(PRIMARY, NOW_S)}`;
    expect(verify(body, header)).toMatchObject({ ok: true, secretName: "primary" });
  });

  it("accepts Stripe's rolling header (old and new secret both sign) and names the first configured match", () => {
    const header = `t=${NOW_S},v1=${hexOf(ROLLED, NOW_S)},v1=${hexOf(PRIMARY, NOW_S)}`;
    expect(verify(body, header, rotating)).toMatchObject({ ok: true, secretName: "primary" });
  });

  it("rejects a payload signed with neither secret", () => {
    expect(verify(body, stripeSignatureHeader(raw, OTHER, NOW_S), rotating)).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
  });

  it("rejects when no secret is configured at all (config validation refuses this earlier)", () => {
    expect(verify(body, signed, { secrets: [], toleranceSeconds: 300 })).toEqual({
      ok: false,
      reason: "signature_mismatch",
    });
  });
});

describe("constant-time comparison", () => {
  it("compares every secret against every v1 with timingSafeEqual on 32-byte buffers, without early exit", () => {
    const calls: Array<[number, number]> = [];
    const timingSafeEqual = (a: Buffer, b: Buffer) => {
      calls.push([a.length, b.length]);
      return a.equals(b);
    };
    // The first secret matches the first v1: the loop must still run through all four pairs.
    const header = `t=${NOW_S},v1=${hexOf(PRIMARY, NOW_S)},v1=${hexOf(OTHER, NOW_S)}`;
    const result = verifyStripeSignature(body, header, rotating, { now: () => NOW_MS, timingSafeEqual });
    expect(result).toMatchObject({ ok: true, secretName: "primary" });
    expect(calls).toEqual([
      [32, 32],
      [32, 32],
      [32, 32],
      [32, 32],
    ]);
  });
});

describe("nothing sensitive in results", () => {
  const headers = [
    signed,
    stripeSignatureHeader(raw, OTHER, NOW_S),
    stripeSignatureHeader(raw, PRIMARY, NOW_S - 10_000),
    `t=${NOW_S},v1=${flipped()}`,
  ];
  function flipped() {
    const v = v1Of(signed);
    return `${v.slice(0, -1)}${v.endsWith("f") ? "e" : "f"}`;
  }

  it.each(headers)("result for %s carries neither secrets nor signatures", (header) => {
    const text = JSON.stringify(verify(body, header, rotating));
    for (const secret of [PRIMARY, ROLLED]) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe("validateSignatureConfig", () => {
  const secrets = [{ name: "primary", secret: PRIMARY }];

  it("defaults the tolerance to 300 s", () => {
    expect(validateSignatureConfig({ secrets })).toEqual({ ok: true, config: { secrets, toleranceSeconds: 300 } });
  });

  it.each([
    { name: "tolerance 0", input: { secrets, toleranceSeconds: 0 }, path: "toleranceSeconds" },
    { name: "negative tolerance", input: { secrets, toleranceSeconds: -300 }, path: "toleranceSeconds" },
    { name: "fractional tolerance", input: { secrets, toleranceSeconds: 0.5 }, path: "toleranceSeconds" },
    { name: "tolerance as a string", input: { secrets, toleranceSeconds: "300" }, path: "toleranceSeconds" },
    { name: "no secrets", input: { secrets: [] }, path: "secrets" },
    { name: "empty secret", input: { secrets: [{ name: "a", secret: "" }] }, path: "secrets.0.secret" },
    { name: "unnamed secret", input: { secrets: [{ name: "", secret: PRIMARY }] }, path: "secrets.0.name" },
    {
      name: "secret with a trailing newline",
      input: { secrets: [{ name: "a", secret: `${PRIMARY}\n` }] },
      path: "secrets.0.secret",
    },
    {
      name: "duplicate secret names",
      input: {
        secrets: [
          { name: "a", secret: PRIMARY },
          { name: "a", secret: ROLLED },
        ],
      },
      path: "secrets",
    },
  ])("refuses $name", ({ input, path }) => {
    const result = validateSignatureConfig(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.some((issue) => issue.startsWith(`${path}:`))).toBe(true);
    expect(JSON.stringify(result)).not.toContain(PRIMARY);
  });

  it("reports every problem at once", () => {
    const result = validateSignatureConfig({ secrets: [{ name: "", secret: " x " }], toleranceSeconds: 0 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues).toHaveLength(3);
  });
});

describe("properties", () => {
  it("any single-byte change to a signed body fails verification", () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (position, delta) => {
        const tampered = Buffer.from(body);
        const index = position % tampered.length;
        tampered[index] = ((tampered[index] ?? 0) + delta) & 0xff;
        expect(verify(tampered, signed)).toEqual({ ok: false, reason: "signature_mismatch" });
      }),
    );
  });

  it("any single-byte change to any signed unicode payload fails, while the payload itself verifies", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 200 }),
        fc.integer({ min: -300, max: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (payload, skew, position, delta) => {
          const header = stripeSignatureHeader(payload, PRIMARY, NOW_S + skew);
          const bytes = Buffer.from(payload, "utf8");
          expect(verify(bytes, header).ok).toBe(true);
          const index = position % bytes.length;
          bytes[index] = ((bytes[index] ?? 0) + delta) & 0xff;
          expect(verify(bytes, header)).toEqual({ ok: false, reason: "signature_mismatch" });
        },
      ),
    );
  });

  it("every timestamp outside the window is rejected on the right side", () => {
    fc.assert(
      fc.property(fc.integer({ min: 301, max: 10_000_000 }), fc.boolean(), (offset, past) => {
        const t = past ? NOW_S - offset : NOW_S + offset;
        const result = verify(body, stripeSignatureHeader(raw, PRIMARY, t));
        expect(result).toEqual({ ok: false, reason: past ? "timestamp_too_old" : "timestamp_in_future" });
      }),
    );
  });
});
