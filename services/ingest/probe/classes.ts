import { objects, stripeEventBody, stripeSignatureHeader, v1Of } from "../src/testing/stripe-signing.ts";

/** One bad-input request: what a client sends. Header values that are arrays are sent as several lines. */
export interface ProbeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface ProbeClass {
  name: string;
  /** What the server must answer. */
  expect: number;
  make: (i: number) => ProbeRequest;
}

const PATH = "/webhooks/stripe";
const nowS = () => Math.floor(Date.now() / 1000);

export function eventBody(i: number, prefix: string): string {
  return stripeEventBody({
    id: `evt_${prefix}_${i}_${Date.now()}`,
    type: "charge.succeeded",
    object: objects.charge(`cus_probe${i % 50}`),
    created: nowS() - 5,
  });
}

export function signedRequest(
  secret: string,
  body: string,
  extra: Record<string, string | string[]> = {},
): ProbeRequest {
  return {
    method: "POST",
    path: PATH,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "stripe-signature": stripeSignatureHeader(body, secret, nowS()),
      ...extra,
    },
    body,
  };
}

/**
 * The bad-input classes: forged, replayed, malformed, mislabelled, oversized. None may store a
 * record; each gets a 4xx (or 404/405) that says why.
 */
export function badInputClasses(secret: string): ProbeClass[] {
  const body = (i: number) => eventBody(i, "bad");
  const json = "application/json";
  const hex = "ab".repeat(32);
  const post = (i: number, headers: Record<string, string | string[]>, b: string | Buffer = body(i)): ProbeRequest => ({
    method: "POST",
    path: PATH,
    headers: { "content-type": json, ...headers },
    body: b,
  });
  return [
    { name: "no Stripe-Signature", expect: 400, make: (i) => post(i, {}) },
    { name: "empty Stripe-Signature", expect: 400, make: (i) => post(i, { "stripe-signature": "" }) },
    { name: "garbage Stripe-Signature", expect: 400, make: (i) => post(i, { "stripe-signature": "v1,t=abc;;" }) },
    { name: "timestamp, no v1", expect: 400, make: (i) => post(i, { "stripe-signature": `t=${nowS()}` }) },
    {
      name: "v0 only",
      expect: 400,
      make: (i) => {
        const b = body(i);
        return post(i, { "stripe-signature": `t=${nowS()},v0=${v1Of(stripeSignatureHeader(b, secret, nowS()))}` }, b);
      },
    },
    { name: "forged HMAC", expect: 400, make: (i) => post(i, { "stripe-signature": `t=${nowS()},v1=${hex}` }) },
    {
      name: "signed with another secret",
      expect: 400,
      make: (i) => signedRequest("whsec_attacker_0123456789", body(i)),
    },
    {
      name: "stale timestamp (replay)",
      expect: 400,
      make: (i) => {
        const b = body(i);
        return post(i, { "stripe-signature": stripeSignatureHeader(b, secret, nowS() - 3600) }, b);
      },
    },
    {
      name: "future timestamp",
      expect: 400,
      make: (i) => {
        const b = body(i);
        return post(i, { "stripe-signature": stripeSignatureHeader(b, secret, nowS() + 3600) }, b);
      },
    },
    {
      name: "two Stripe-Signature headers",
      expect: 400,
      make: (i) => {
        const b = body(i);
        const good = stripeSignatureHeader(b, secret, nowS());
        return post(i, { "stripe-signature": [good, `t=${nowS()},v1=${hex}`] }, b);
      },
    },
    {
      name: "two Content-Type headers",
      expect: 400,
      make: (i) => signedRequest(secret, body(i), { "content-type": ["application/json", "text/plain"] }),
    },
    { name: "text/plain", expect: 415, make: (i) => signedRequest(secret, body(i), { "content-type": "text/plain" }) },
    {
      name: "form-encoded",
      expect: 415,
      make: (i) => signedRequest(secret, body(i), { "content-type": "application/x-www-form-urlencoded" }),
    },
    { name: "GET", expect: 405, make: () => ({ method: "GET", path: PATH, headers: {} }) },
    { name: "PUT", expect: 405, make: (i) => ({ ...signedRequest(secret, body(i)), method: "PUT" }) },
    {
      name: "oversize body (1 MiB + 1)",
      expect: 413,
      make: () => {
        const big = `{"pad":"${"x".repeat(1024 * 1024 - 9)}"}`; // 1 MiB + 1 byte
        return signedRequest(secret, big);
      },
    },
    {
      name: "re-serialised body",
      expect: 400,
      make: (i) => {
        const b = body(i);
        return { ...signedRequest(secret, b), body: JSON.stringify(JSON.parse(b)) };
      },
    },
    {
      name: "truncated body",
      expect: 400,
      make: (i) => {
        const b = body(i);
        return { ...signedRequest(secret, b), body: b.slice(0, -20) };
      },
    },
    { name: "signed non-JSON", expect: 400, make: (i) => signedRequest(secret, `not json ${i}`) },
    { name: "signed JSON array", expect: 400, make: (i) => signedRequest(secret, `[${i}]`) },
    {
      name: "signed event without id",
      expect: 400,
      make: (i) => signedRequest(secret, JSON.stringify({ ...JSON.parse(body(i)), id: undefined })),
    },
    {
      name: "signed email in junk",
      expect: 400,
      make: (i) => signedRequest(secret, `{"email":"victim${i}@example.com","data":`),
    },
    { name: "wrong path", expect: 404, make: (i) => ({ ...signedRequest(secret, body(i)), path: "/metrics" }) },
    {
      name: "20 KB header",
      expect: 431,
      make: (i) => signedRequest(secret, body(i), { "x-pad": "y".repeat(20_000) }),
    },
  ];
}
