import { BrevoError, BrevoTimeoutError } from "@getbrevo/brevo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeBrevo, startFakeBrevo } from "../testing/fake-brevo.ts";
import { testTransport } from "../testing/harness.ts";
import { classify } from "./brevo-transport.ts";

const err = (statusCode: number | undefined, body?: unknown) =>
  new BrevoError({ ...(statusCode === undefined ? {} : { statusCode }), body, message: "x" });

describe("retry decision per error", () => {
  it.each([
    ["429", err(429), "throttled"],
    ["500", err(500), "transient"],
    ["503", err(503), "transient"],
    ["408", err(408), "transient"],
    ["425", err(425), "transient"],
    ["timeout", new BrevoTimeoutError("t"), "transient"],
    ["network", new TypeError("fetch failed"), "transient"],
    ["401", err(401), "fatal"],
    ["403", err(403), "fatal"],
    ["400 duplicate", err(400, { code: "duplicate_parameter", message: "dup" }), "record"],
    ["404", err(404, { code: "document_not_found", message: "gone" }), "record"],
  ])("%s → %s", (_label, error, kind) => {
    expect(classify(error).kind).toBe(kind);
  });

  it("425 provably did not apply; 5xx and timeouts may have (events are then not re-sent)", () => {
    expect(classify(err(425))).toMatchObject({ ambiguous: false });
    expect(classify(err(503))).toMatchObject({ ambiguous: true });
    expect(classify(new BrevoTimeoutError("t"))).toMatchObject({ ambiguous: true });
  });
});

describe("transport against the fake", () => {
  let fake: FakeBrevo;
  beforeAll(async () => {
    fake = await startFakeBrevo();
  });
  afterAll(() => fake.close());

  it("retries are the sink's only: one 503 costs exactly one extra request (SDK maxRetries 0)", async () => {
    const transport = testTransport(fake);
    await transport.upsertContact("cus_1", { email: "a@example.com", attributes: {} });
    fake.resetLog();
    fake.inject({ kind: "5xx", operations: ["updateContact"] });
    expect(await transport.updateContact("cus_1", { attributes: { FIRSTNAME: "Ada" } })).toEqual({ ok: true });
    expect(fake.log.map((e) => e.status)).toEqual([503, 204]);
    expect(transport.stats.retries).toBe(1);
  });

  it("gives up after maxAttempts with a retriable error, so the run stops and its cursor stays", async () => {
    const transport = testTransport(fake, { maxAttempts: 3 });
    fake.inject({ kind: "5xx", operations: ["updateContact"], times: 3 });
    await expect(transport.updateContact("cus_1", { attributes: {} })).rejects.toMatchObject({
      code: "brevo_unavailable",
      retriable: true,
    });
  });

  it("reports permanent per-record refusals as outcomes, and a delete of a missing contact as done", async () => {
    const transport = testTransport(fake);
    expect(await transport.upsertContact("cus_x", { email: "not-an-email", attributes: {} })).toMatchObject({
      ok: false,
      status: 400,
      code: "invalid_parameter",
    });
    expect(await transport.deleteContact("cus_never")).toEqual({ ok: true });
  });

  it("refuses more than 150 identifiers per list call before sending", async () => {
    const transport = testTransport(fake);
    await expect(
      transport.changeList(
        1,
        "add",
        Array.from({ length: 151 }, (_, i) => `c${i}`),
      ),
    ).rejects.toThrow(/150/);
  });
});
