import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyStripeSignature } from "@sbs/ingest/signature";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver } from "./deliver.ts";
import { generateHistory } from "./history.ts";

const SECRET = "whsec_demo_test";
const received: string[] = [];
const attempts = new Map<string, number>();
let url = "";

// A webhook endpoint that verifies like ingest and fails every event's first attempt with 503.
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const verified = verifyStripeSignature(
      body,
      req.headers["stripe-signature"],
      { secrets: [{ name: "t", secret: SECRET }], toleranceSeconds: 300 },
      { now: Date.now },
    );
    if (!verified.ok) {
      res.writeHead(400).end();
      return;
    }
    const id = (JSON.parse(body.toString()) as { id: string }).id;
    const n = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, n);
    if (n === 1) {
      res.writeHead(503).end();
      return;
    }
    received.push(id);
    res.writeHead(200).end();
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("deliver", () => {
  it("delivers every event, signed, out of order, some twice, retrying failures", async () => {
    const events = generateHistory({
      customers: 20,
      days: 60,
      seed: 3,
      start: Math.floor(Date.now() / 1000) - 60 * 86_400,
    });
    const report = await deliver(events, {
      url,
      secret: SECRET,
      concurrency: 4,
      duplicateRate: 0.1,
      reorderWindow: 10,
      maxAttempts: 3,
      retryBaseMs: 1,
      seed: 3,
    });
    expect(report.failed).toEqual([]);
    expect(new Set(received)).toEqual(new Set(events.map((e) => e.id)));
    expect(report.duplicates).toBeGreaterThan(0);
    expect(received.length).toBe(events.length + report.duplicates);
    expect(report.retries).toBe(events.length);
    expect(received).not.toEqual(events.map((e) => e.id));
  });
});
