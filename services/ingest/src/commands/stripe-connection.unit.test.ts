import { afterEach, describe, expect, it } from "vitest";
import { capturingWriter } from "../testing/command-harness.ts";
import { FAKE_SECRET_KEY, type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { commandDepsFromEnv } from "./deps-from-env.ts";
import { parseApiBase } from "./stripe-connection.ts";
import { testConnection } from "./test-connection.ts";

describe("STRIPE_API_BASE", () => {
  it.each([
    { value: "http://127.0.0.1:12111", expected: { host: "127.0.0.1", port: 12111, protocol: "http" } },
    {
      value: "https://stripe-proxy.internal",
      expected: { host: "stripe-proxy.internal", port: 443, protocol: "https" },
    },
    { value: "http://localhost/", expected: { host: "localhost", port: 80, protocol: "http" } },
    { value: "http://[::1]:8420", expected: { host: "::1", port: 8420, protocol: "http" } },
  ])("$value", ({ value, expected }) => {
    expect(parseApiBase(value)).toEqual(expected);
  });

  it.each([
    { value: "127.0.0.1:12111", message: /must be http:\/\/ or https:\/\/|is not a URL/ },
    { value: "ftp://example.com", message: /must be http:\/\/ or https:\/\/, not ftp:/ },
    { value: "https://example.com/v1", message: /origin only/ },
    { value: "https://example.com?x=1", message: /origin only/ },
    { value: "not a url", message: /is not a URL/ },
  ])("refuses $value with the reason", ({ value, message }) => {
    expect(() => parseApiBase(value)).toThrow(message);
  });

  let fake: FakeStripe | undefined;
  afterEach(async () => {
    await fake?.close();
  });

  it("points the Stripe commands at another origin", async () => {
    fake = await startFakeStripe();
    const out = capturingWriter();
    const deps = commandDepsFromEnv(
      { STRIPE_API_KEY: FAKE_SECRET_KEY, STRIPE_API_BASE: `http://127.0.0.1:${fake.port}` },
      out,
      capturingWriter(),
    );
    const results = await testConnection({ ...deps, out });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.requests.map((r) => r.path)).toContain("/v1/account");
  });
});
