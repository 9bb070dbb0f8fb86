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

/** A Postgres unique violation as node-postgres raises it: detail/where echo the row. */
function pgError(): Error {
  const e = new Error('duplicate key value violates unique constraint "contacts_email_key"') as Error &
    Record<string, unknown>;
  Object.assign(e, {
    code: "23505",
    severity: "ERROR",
    table: "contacts",
    constraint: "contacts_email_key",
    detail: "Key (email)=(ada.lovelace@example.com) already exists.",
    where: "SQL statement \"insert into contacts values ('ada.lovelace@example.com', 'p4ss-in-where')\"",
    internalQuery: "select 'internal-query-value'",
    parameters: ["param-value-1", "param-value-2"],
  });
  return e;
}

// [what, how it is logged, the secret that must not appear, something that must stay]
const cases: [string, (log: ReturnType<typeof capture>["logger"]) => void, string, string][] = [
  [
    "an email three levels deep",
    (l) => l.info({ a: { b: { c: { email: "ada@example.com" } } } }, "m"),
    "ada@example.com",
    '"msg":"m"',
  ],
  ["customer_email", (l) => l.info({ customer_email: "cust@example.com" }, "m"), "cust@example.com", "customer_email"],
  [
    "receipt_email",
    (l) => l.info({ charge: { receipt_email: "rcpt@example.com" } }, "m"),
    "rcpt@example.com",
    "receipt_email",
  ],
  [
    "EMAIL (an attribute name)",
    (l) => l.info({ attributes: { EMAIL: "upper@example.com" } }, "m"),
    "upper@example.com",
    "EMAIL",
  ],
  ["SMS", (l) => l.info({ attributes: { SMS: "+33612345678" } }, "m"), "+33612345678", "SMS"],
  [
    "config.*.apiKey",
    (l) => l.info({ config: { brevo: { apiKey: "opaque-key-123" } } }, "m"),
    "opaque-key-123",
    "brevo",
  ],
  [
    "BREVO_API_KEY",
    (l) => l.info({ env: { BREVO_API_KEY: "opaque-env-key-456" } }, "m"),
    "opaque-env-key-456",
    "BREVO_API_KEY",
  ],
  [
    "an email in a plain string field",
    (l) => l.info({ note: "sent to ada@example.com today" }, "m"),
    "ada@example.com",
    "sent to",
  ],
  ["an email in an array", (l) => l.info({ to: ["x@example.com", "y@example.org"] }, "m"), "y@example.org", '"to"'],
  ["an email in the message", (l) => l.info("delivery to bob@example.com failed"), "bob@example.com", "delivery to"],
  [
    "an email in a printf argument",
    (l) => l.info("delivery to %s failed", "carol@example.com"),
    "carol@example.com",
    "delivery to",
  ],
  [
    "a database URL password",
    (l) => l.info({ url: "postgres://app:s3cr3t-pw@db:5432/sbs" }, "m"),
    "s3cr3t-pw",
    "postgres://app:",
  ],
  ["a DATABASE_URL variable", (l) => l.info({ DATABASE_URL: "postgres://app@db/sbs" }, "m"), "app@db", "DATABASE_URL"],
  ["a password in a message", (l) => l.warn("connect postgresql://u:hunter2@h/db refused"), "hunter2", "refused"],
  [
    "a Brevo key by value",
    (l) => l.info({ header: "xkeysib-0123456789abcdef-XyZ" }, "m"),
    "xkeysib-0123456789abcdef-XyZ",
    "header",
  ],
  [
    "a Stripe secret key",
    (l) => l.info({ detail_text: "key sk_live_51Habc123 rejected" }, "m"),
    "sk_live_51Habc123",
    "rejected",
  ],
  ["a Stripe restricted key", (l) => l.info("using rk_test_51Hdef456"), "rk_test_51Hdef456", "using"],
  ["a webhook secret", (l) => l.info({ value: "whsec_abcDEF0123456789" }, "m"), "whsec_abcDEF0123456789", "value"],
  [
    "a Stripe signature header",
    (l) => l.info({ headers: { "stripe-signature": "t=1,v1=deadbeef" } }, "m"),
    "deadbeef",
    "headers",
  ],
  [
    "an error message with an email",
    (l) => l.error({ err: new Error("no contact ada@example.com") }, "m"),
    "ada@example.com",
    "no contact",
  ],
  [
    "an error cause with a key",
    (l) => l.error({ err: new Error("outer", { cause: new Error("bad xkeysib-abc-1") }) }, "m"),
    "xkeysib-abc-1",
    "outer",
  ],
  ["an error passed alone", (l) => l.error(new Error("for dave@example.com")), "dave@example.com", '"type":"Error"'],
  [
    "an error nested in a field",
    (l) => l.warn({ step: "x", failure: new Error("eve@example.com") }, "m"),
    "eve@example.com",
    "failure",
  ],
  [
    "a child logger binding",
    (l) => l.child({ email: "frank@example.com" }).info("m"),
    "frank@example.com",
    '"msg":"m"',
  ],
  ["Postgres detail", (l) => l.error({ err: pgError() }, "m"), "ada.lovelace@example.com", "23505"],
  ["Postgres where", (l) => l.error({ err: pgError() }, "m"), "p4ss-in-where", "contacts_email_key"],
  ["Postgres internal query", (l) => l.error({ err: pgError() }, "m"), "internal-query-value", "contacts"],
  ["Postgres parameters", (l) => l.error({ err: pgError() }, "m"), "param-value-2", '"severity":"ERROR"'],
];

describe("logger redaction by key and by value", () => {
  it.each(cases)("hides %s", (_what, log, secret, kept) => {
    const { lines, logger } = capture();
    log(logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain(kept);
  });

  it("leaves ordinary values alone and survives cycles", () => {
    const { lines, logger } = capture();
    const loop: Record<string, unknown> = { eventId: "evt_1", type: "charge.succeeded", count: 3 };
    loop["self"] = loop;
    logger.info({ ctx: loop, shared: [loop, loop] }, "event stored");
    const line = JSON.parse(lines[0] ?? "{}");
    expect(line.ctx).toMatchObject({ eventId: "evt_1", type: "charge.succeeded", count: 3, self: "[circular]" });
    expect(line.msg).toBe("event stored");
  });
});
