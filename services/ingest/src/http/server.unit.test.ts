import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { AppError, createLogger } from "@sbs/shared";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EventLog } from "../adapters/event-log.ts";
import type { AppendRecord } from "../domain/record.ts";
import { createIngestMetrics } from "../metrics.ts";
import { objects, stripeEventBody, stripeSignatureHeader, v1Of } from "../testing/stripe-signing.ts";
import { createHttpServer, type HttpLimits, WEBHOOK_PATH } from "./server.ts";

const NOW_S = 1_721_954_100;
const SECRET_A = "whsec_test_primary_0123456789abcdef";
const SECRET_B = "whsec_test_rotated_fedcba9876543210";
const MAX_BODY = 64 * 1024;

// The webhook path under test is real; only the broker behind it is replaced by a recorder.
const appended: AppendRecord[] = [];
let failWith: AppError | undefined;
const eventLog: Pick<EventLog, "append"> = {
  append: async (record) => {
    if (failWith) throw failWith;
    appended.push(record);
  },
};
const logLines: string[] = [];
const logger = createLogger({
  service: "ingest-test",
  level: "debug",
  destination: new Writable({
    write(chunk, _e, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
});
const metrics = createIngestMetrics(() => 0);
let draining = false;

function limits(overrides: Partial<HttpLimits> = {}): HttpLimits {
  return {
    maxBodyBytes: MAX_BODY,
    bodyBudgetBytes: 16 * MAX_BODY,
    largeBodyBytes: 16 * 1024,
    minBodyBytesPerSecond: 1024,
    rateWindowMs: 5000,
    requestTimeoutMs: 20_000,
    headersTimeoutMs: 10_000,
    maxConnections: 1000,
    ...overrides,
  };
}
let base = "";

const server = createHttpServer({
  signature: {
    secrets: [
      { name: "primary", secret: SECRET_A },
      { name: "rotated", secret: SECRET_B },
    ],
    toleranceSeconds: 300,
  },
  topics: { testTopic: "stripe.test", liveTopic: "stripe.live" },
  eventLog,
  metrics,
  logger,
  now: () => NOW_S * 1000,
  limits: limits(),
  draining: () => draining,
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  appended.length = 0;
  failWith = undefined;
  draining = false;
});

const chargeBody = stripeEventBody({
  id: "evt_charge_1",
  type: "charge.succeeded",
  object: objects.charge("cus_QXg1o8vcGmoR32"),
  created: NOW_S - 5,
});
const sign = (body: string, secret = SECRET_A, t = NOW_S) => stripeSignatureHeader(body, secret, t);

interface Req {
  body?: string | Buffer;
  signature?: string;
  contentType?: string;
  method?: string;
}
async function post({
  body = chargeBody,
  signature,
  contentType = "application/json; charset=utf-8",
  method = "POST",
}: Req) {
  const headers: Record<string, string> = { "content-type": contentType };
  if (signature !== undefined) headers["stripe-signature"] = signature;
  const res = await fetch(`${base}${WEBHOOK_PATH}`, {
    method,
    headers,
    ...(method === "GET" ? {} : { body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe("POST /webhooks/stripe: bad input gets the right 4xx and stores nothing", () => {
  const big = stripeEventBody({
    type: "customer.updated",
    object: { ...objects.customer(), description: "x".repeat(MAX_BODY) },
  });
  const compact = JSON.stringify(JSON.parse(chargeBody));
  const withoutId = JSON.stringify({ ...JSON.parse(chargeBody), id: undefined }, null, 2);
  const withoutType = JSON.stringify({ ...JSON.parse(chargeBody), type: undefined }, null, 2);
  const notJson = "charge.succeeded evt_1 ok=true";

  const cases: [string, () => Req, number, string][] = [
    ["no signature header", () => ({}), 400, "missing_header"],
    ["malformed header", () => ({ signature: "v1,t=abc" }), 400, "malformed_header"],
    ["bad HMAC", () => ({ signature: `t=${NOW_S},v1=${"ab".repeat(32)}` }), 400, "signature_mismatch"],
    ["unknown secret", () => ({ signature: sign(chargeBody, "whsec_someone_else") }), 400, "signature_mismatch"],
    ["stale timestamp", () => ({ signature: sign(chargeBody, SECRET_A, NOW_S - 301) }), 400, "timestamp_too_old"],
    ["future timestamp", () => ({ signature: sign(chargeBody, SECRET_A, NOW_S + 301) }), 400, "timestamp_in_future"],
    ["v0 only", () => ({ signature: `t=${NOW_S},v0=${v1Of(sign(chargeBody))}` }), 400, "no_v1_signature"],
    ["re-serialised body", () => ({ body: compact, signature: sign(chargeBody) }), 400, "signature_mismatch"],
    [
      "truncated body",
      () => ({ body: chargeBody.slice(0, -20), signature: sign(chargeBody) }),
      400,
      "signature_mismatch",
    ],
    ["oversize body", () => ({ body: big, signature: sign(big) }), 413, "body_too_large"],
    ["non-JSON body (validly signed)", () => ({ body: notJson, signature: sign(notJson) }), 400, "not_json"],
    [
      "wrong content type",
      () => ({ contentType: "text/plain", signature: sign(chargeBody) }),
      415,
      "unsupported_media_type",
    ],
    [
      "form content type",
      () => ({ contentType: "application/x-www-form-urlencoded", signature: sign(chargeBody) }),
      415,
      "unsupported_media_type",
    ],
    ["missing id", () => ({ body: withoutId, signature: sign(withoutId) }), 400, "invalid_envelope"],
    ["missing type", () => ({ body: withoutType, signature: sign(withoutType) }), 400, "invalid_envelope"],
    ["wrong method", () => ({ method: "GET" }), 405, "method_not_allowed"],
  ];

  it.each(cases)("%s → %i %s", async (_name, request, status, reason) => {
    const before = logLines.length;
    const res = await post(request());
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: reason });
    expect(appended).toHaveLength(0);
    const logged = logLines.slice(before).join("\n");
    for (const secret of [SECRET_A, SECRET_B, "jenny.rosen@example.com", v1Of(sign(chargeBody))]) {
      expect(logged).not.toContain(secret);
    }
  });

  it("counts every rejection by reason, 413s included", async () => {
    await post({ body: big, signature: sign(big) });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/ingest_webhooks_rejected_total\{reason="body_too_large"\} [1-9]/);
    expect(text).toMatch(/ingest_webhooks_rejected_total\{reason="signature_mismatch"\} [1-9]/);
  });

  it("refuses an oversize body sent without Content-Length (chunked) as well", async () => {
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("x".repeat(MAX_BODY / 4)));
        controller.close();
      },
    });
    const res = await fetch(`${base}${WEBHOOK_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": sign(chargeBody) },
      body: chunks,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(appended).toHaveLength(0);
  });
});

describe("POST /webhooks/stripe: good input", () => {
  it("stores a verified event with its key, headers and the body exactly as received", async () => {
    const res = await post({ signature: sign(chargeBody) });
    expect(res).toMatchObject({ status: 200, body: { received: true, stored: true } });
    expect(appended).toHaveLength(1);
    const record = appended[0] as AppendRecord;
    expect(record).toMatchObject({
      topic: "stripe.test",
      key: "platform:cus_QXg1o8vcGmoR32",
      headers: { event_id: "evt_charge_1", event_type: "charge.succeeded", source: "webhook", verified_by: "primary" },
    });
    expect(record.envelope.payload).toBe(chargeBody);
    expect(JSON.stringify(record)).not.toContain(SECRET_A);
  });

  it("accepts a delivery signed with the rotated secret and says which one verified it", async () => {
    const res = await post({ signature: sign(chargeBody, SECRET_B) });
    expect(res.status).toBe(200);
    expect(appended[0]?.headers["verified_by"]).toBe("rotated");
  });

  it("accepts a header carrying an old and a new v1 during rotation", async () => {
    const header = `t=${NOW_S},v1=${"00".repeat(32)},v1=${v1Of(sign(chargeBody, SECRET_B))}`;
    expect((await post({ signature: header })).status).toBe(200);
  });

  it("stores event types it does not know", async () => {
    const body = stripeEventBody({ id: "evt_new", type: "billing.alert.triggered", object: objects.customer() });
    expect((await post({ body, signature: sign(body) })).status).toBe(200);
    expect(appended.map((r) => r.headers["event_type"])).toEqual(["billing.alert.triggered"]);
  });

  it("stores an invoice preview (invoice.upcoming) keyed by its customer", async () => {
    const body = stripeEventBody({ id: "evt_upcoming", type: "invoice.upcoming", object: objects.upcomingInvoice() });
    const res = await post({ body, signature: sign(body) });
    expect(res).toMatchObject({ status: 200, body: { received: true } });
    expect(appended.map((r) => r.key)).toEqual(["platform:cus_QXg1o8vcGmoR32"]);
  });

  it("acknowledges an event without an object id, logs it, and stores nothing", async () => {
    const cash = { object: "cash_balance", customer: "cus_1", available: { eur: 100 } };
    const body = stripeEventBody({ id: "evt_upcoming", type: "cash_balance.funds_available", object: cash });
    const res = await post({ body, signature: sign(body) });
    expect(res).toMatchObject({ status: 200, body: { received: true, stored: false } });
    expect(appended).toHaveLength(0);
    expect(logLines.some((l) => l.includes("evt_upcoming") && l.includes("no object id"))).toBe(true);
  });
});

describe("POST /webhooks/stripe: when the event cannot be stored", () => {
  it.each(["kafka_unavailable", "produce_timeout", "overloaded"])("answers 503 %s so Stripe retries", async (code) => {
    failWith = new AppError(code, "not stored", { retriable: true });
    const res = await post({ signature: sign(chargeBody) });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: code });
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("answers 503 while draining, before reading the body", async () => {
    draining = true;
    const res = await post({ signature: sign(chargeBody) });
    expect(res).toMatchObject({ status: 503, body: { error: "shutting_down" } });
    expect(appended).toHaveLength(0);
  });
});

describe("other routes", () => {
  it("serves the webhook only: health, readiness and metrics live on the internal port", async () => {
    for (const path of ["/healthz", "/readyz", "/metrics", "/nope"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain("ingest_webhooks");
    }
  });
});
