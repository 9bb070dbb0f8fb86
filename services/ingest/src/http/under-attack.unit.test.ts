import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { Writable } from "node:stream";
import { createLogger } from "@sbs/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { AppendRecord } from "../domain/record.ts";
import { createIngestMetrics } from "../metrics.ts";
import { objects, stripeEventBody, stripeSignatureHeader } from "../testing/stripe-signing.ts";
import { createHttpServer, type HttpLimits, WEBHOOK_PATH } from "./server.ts";

/**
 * The webhook server against clients that hold memory instead of delivering events: headers that
 * cannot verify, stalled bodies, floods of junk. Real sockets, real server; only the broker is a
 * recorder.
 */
const NOW_S = 1_721_954_100;
const SECRET = "whsec_attack_0123456789abcdef";
const sign = (body: string, t = NOW_S) => stripeSignatureHeader(body, SECRET, t);
// Looks valid from the headers (shape, window); only the HMAC over the body could tell.
const plausibleSignature = `t=${NOW_S},v1=${"ab".repeat(32)}`;

const servers: { close: () => void }[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function startServer(overrides: Partial<HttpLimits> = {}) {
  const appended: AppendRecord[] = [];
  const lines: string[] = [];
  const logger = createLogger({
    service: "attack-test",
    destination: new Writable({
      write(chunk, _e, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  const metrics = createIngestMetrics(() => 0);
  const server = createHttpServer({
    signature: { secrets: [{ name: "main", secret: SECRET }], toleranceSeconds: 300 },
    topics: { testTopic: "t", liveTopic: "l" },
    eventLog: {
      append: async (r) => {
        appended.push(r);
      },
    },
    metrics,
    logger,
    now: () => NOW_S * 1000,
    limits: {
      maxBodyBytes: 1024 * 1024,
      bodyBudgetBytes: 4 * 1024 * 1024,
      largeBodyBytes: 64 * 1024,
      minBodyBytesPerSecond: 1024,
      rateWindowMs: 5000,
      requestTimeoutMs: 20_000,
      headersTimeoutMs: 10_000,
      maxConnections: 1000,
      ...overrides,
    },
    draining: () => false,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({ close: () => server.close() });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  return { server, port, appended, lines, metrics };
}

interface RawAnswer {
  status: number;
  body: string;
  ms: number;
}

/** Sends the headers (and `bodyPart`), then stalls; resolves with the server's answer, if any. */
function stalled(port: number, headers: Record<string, string>, bodyPart = ""): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString();
      const end = data.indexOf("\r\n\r\n");
      const length = Number(/content-length: (\d+)/i.exec(data)?.[1] ?? -1);
      if (end >= 0 && data.length - end - 4 >= length) {
        resolve({ status: Number(data.slice(9, 12)), body: data.slice(end + 4), ms: performance.now() - started });
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => reject(new Error(`closed without an answer after ${data.length} bytes`)));
    const lines = Object.entries({ host: "localhost", ...headers }).map(([k, v]) => `${k}: ${v}`);
    socket.write(`POST ${WEBHOOK_PATH} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n${bodyPart}`);
  });
}

const event = stripeEventBody({
  id: "evt_legit_1",
  type: "charge.succeeded",
  object: objects.charge("cus_QXg1o8vcGmoR32"),
  created: NOW_S - 5,
});

async function legit(port: number) {
  const res = await fetch(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": sign(event) },
    body: event,
  });
  return res.status;
}

describe("refused from the headers alone, before any body byte is read", () => {
  it.each([
    ["no Stripe-Signature", {}, "missing_header"],
    ["a malformed Stripe-Signature", { "stripe-signature": "v1,t=abc" }, "malformed_header"],
    ["a stale timestamp", { "stripe-signature": `t=${NOW_S - 301},v1=${"ab".repeat(32)}` }, "timestamp_too_old"],
    ["a future timestamp", { "stripe-signature": `t=${NOW_S + 301},v1=${"ab".repeat(32)}` }, "timestamp_in_future"],
  ])("%s → 400 while the 1 MiB body has not arrived", async (_what, headers, reason) => {
    const { port } = await startServer();
    const answer = await stalled(port, {
      "content-type": "application/json",
      "content-length": String(1024 * 1024 - 1),
      ...headers,
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ error: reason });
    expect(answer.ms).toBeLessThan(2000);
  });

  it("refuses a second Content-Type like a second Stripe-Signature (400 duplicate_header)", async () => {
    const { port, appended } = await startServer();
    const raw = `POST ${WEBHOOK_PATH} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-type: text/plain\r\nstripe-signature: ${sign(event)}\r\ncontent-length: ${Buffer.byteLength(event)}\r\n\r\n${event}`;
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(raw));
      sockets.push(socket);
      let data = "";
      socket.on("data", (c) => {
        data += c.toString();
        if (data.includes("}")) resolve(data);
      });
    });
    expect(answer.slice(9, 12)).toBe("400");
    expect(answer).toContain('{"error":"duplicate_header"}');
    expect(appended).toHaveLength(0);
  });
});

describe("bounded memory against stalled bodies", () => {
  it("large declared bodies share half the budget; beyond it 503 from the headers, while small events still get 200", async () => {
    const { port, server, metrics } = await startServer({ bodyBudgetBytes: 4 * 1024 * 1024 });
    const headers = {
      "content-type": "application/json",
      "content-length": String(1024 * 1024 - 1),
      "stripe-signature": plausibleSignature,
    };
    // Half of 4 MiB holds two of these; the third and later are refused at once.
    const attackers = Array.from({ length: 6 }, () => stalled(port, headers, "{"));
    // The two held ones never get an answer; the sockets are destroyed after the test.
    for (const held of attackers.slice(0, 2)) held.catch(() => {});
    const settled = await Promise.race([
      Promise.allSettled(attackers.slice(2)),
      new Promise((r) => setTimeout(r, 3000)),
    ]);
    expect(Array.isArray(settled)).toBe(true);
    for (const answer of settled as PromiseSettledResult<RawAnswer>[]) {
      expect(answer.status).toBe("fulfilled");
      if (answer.status === "fulfilled") {
        expect(answer.value.status).toBe(503);
        expect(JSON.parse(answer.value.body)).toEqual({ error: "overloaded" });
      }
    }
    expect(server.budget.used).toBe(2 * (1024 * 1024 - 1));
    expect(await legit(port)).toBe(200);
    expect(await metrics.registry.metrics()).toMatch(/ingest_webhooks_rejected_total\{reason="overloaded"\} 4/);
  });

  it("cuts a stalled body at the minimum-rate check (408 body_too_slow) and gives its bytes back", async () => {
    const { port, server } = await startServer({ rateWindowMs: 300, minBodyBytesPerSecond: 1024 });
    const answer = await stalled(
      port,
      {
        "content-type": "application/json",
        "content-length": "100000",
        "stripe-signature": plausibleSignature,
      },
      "x".repeat(5000),
    );
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({ error: "body_too_slow" });
    expect(answer.ms).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.budget.used).toBe(0);
  });

  it("cuts a request at requestTimeout even when it trickles fast enough for the rate check", async () => {
    const { port, metrics } = await startServer({ requestTimeoutMs: 1500, rateWindowMs: 60_000 });
    const answer = await stalled(port, {
      "content-type": "application/json",
      "content-length": "100000",
      "stripe-signature": plausibleSignature,
    });
    expect(answer.status).toBe(408);
    expect(answer.ms).toBeLessThan(4000);
    expect(await metrics.registry.metrics()).toMatch(/ingest_webhooks_rejected_total\{reason="request_timeout"\} 1/);
  });

  it("chunked bodies (no Content-Length) are taken from the budget as they arrive", async () => {
    const { port } = await startServer({ bodyBudgetBytes: 64 * 1024 });
    const answer = await stalled(
      port,
      { "content-type": "application/json", "transfer-encoding": "chunked", "stripe-signature": plausibleSignature },
      `${(40 * 1024).toString(16)}\r\n${"x".repeat(40 * 1024)}\r\n`,
    );
    // Unknown length counts as large: at most half of 64 KiB, so 40 KiB is over.
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toEqual({ error: "overloaded" });
  });
});

describe("a flood of junk", () => {
  it("logs one line per reason per second with a suppressed count, and counts every one in /metrics", async () => {
    const { port, lines, metrics, appended } = await startServer();
    const junk = "not json at all";
    const send = () =>
      fetch(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": sign(junk) },
        body: junk,
      }).then((r) => r.status);
    const statuses = await Promise.all(Array.from({ length: 200 }, send));
    expect(statuses.every((s) => s === 400)).toBe(true);
    expect(appended).toHaveLength(0);
    const rejectedLines = lines.filter((l) => l.includes('"reason":"not_json"'));
    expect(rejectedLines.length).toBeGreaterThanOrEqual(1);
    expect(rejectedLines.length).toBeLessThanOrEqual(2);
    expect(await metrics.registry.metrics()).toMatch(/ingest_webhooks_rejected_total\{reason="not_json"\} 200/);
    // The next line after the interval says how many were held back.
    await new Promise((r) => setTimeout(r, 1100));
    await send();
    const last = JSON.parse(lines.filter((l) => l.includes('"reason":"not_json"')).at(-1) ?? "{}");
    expect(last.suppressed).toBeGreaterThan(0);
  });
});
