import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ service: "test", destination }) };
}

describe("logger redaction", () => {
  it.each([
    ["a Stripe signature header", { headers: { "stripe-signature": "t=1,v1=deadbeef" } }, "deadbeef"],
    ["a nested signature header", { req: { headers: { "stripe-signature": "t=1,v1=cafebabe" } } }, "cafebabe"],
    ["a Brevo api-key header", { headers: { "api-key": "xkeysib-123" } }, "xkeysib-123"],
    ["an email", { email: "ada@example.com" }, "ada@example.com"],
    ["a nested email", { customer: { email: "ada@example.com" } }, "ada@example.com"],
    ["a secret", { config: { secret: "whsec_abc" } }, "whsec_abc"],
    ["an API key", { apiKey: "sk_live_abc" }, "sk_live_abc"],
  ])("hides %s", (_what, fields, secret) => {
    const { lines, logger } = capture();
    logger.info(fields, "something happened");
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain("[redacted]");
  });

  it("keeps the rest of the line", () => {
    const { lines, logger } = capture();
    logger.child({ component: "webhook" }).warn({ eventId: "evt_1", email: "a@b.c" }, "rejected");
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line).toMatchObject({ service: "test", component: "webhook", eventId: "evt_1", msg: "rejected" });
  });
});
