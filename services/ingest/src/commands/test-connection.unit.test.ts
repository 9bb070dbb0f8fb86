import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../testing/command-harness.ts";
import { FAKE_SECRET_KEY, type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog } from "../testing/recording-event-log.ts";
import { testConnectionCommand } from "./test-connection.ts";

const RESTRICTED = "rk_test_restrictedNoEvents42";
const UNKNOWN = "sk_test_notAKnownKey7777";

describe("test-connection against the fake Stripe server", () => {
  let fake: FakeStripe;
  const harnesses: Harness[] = [];
  beforeEach(async () => {
    fake = await startFakeStripe({
      keys: { [FAKE_SECRET_KEY]: {}, [RESTRICTED]: { deny: ["events", "subscriptions", "account"] } },
    });
  });
  afterEach(async () => {
    await fake.close();
    await Promise.all(harnesses.splice(0).map((h) => h.cleanup()));
  });
  const run = async (apiKey: string) => {
    const h = await createHarness({ fake, eventLog: createRecordingEventLog(), apiKey });
    harnesses.push(h);
    const code = await testConnectionCommand.run([], h.deps);
    return { code, h };
  };

  it("prints one ✓ line per check for a full key and exits 0", async () => {
    const { code, h } = await run(FAKE_SECRET_KEY);
    expect(code).toBe(0);
    expect(h.out.lines()).toEqual([
      "key sk_test_… (test mode)",
      "✓ key            accepted: account acct_1PgafTB7WZ01zgkW (Fake Stripe Ltd)",
      "✓ customers      read (backfill)",
      "✓ charges        read (backfill)",
      "✓ subscriptions  read (backfill)",
      "✓ invoices       read (backfill)",
      "✓ disputes       read (backfill)",
      "✓ products       read (backfill)",
      "✓ prices         read (backfill)",
      "✓ events         read (catch-up)",
    ]);
    expect(fake.requests.filter((r) => r.path !== "/v1/account").every((r) => r.params["limit"] === "1")).toBe(true);
  });

  it("fails on a restricted key without some permissions, with Stripe's message, never the key", async () => {
    const { code, h } = await run(RESTRICTED);
    expect(code).toBe(1);
    const lines = h.out.lines();
    expect(lines[0]).toBe("key rk_test_… (test mode, restricted)");
    expect(lines).toHaveLength(10);
    expect(lines).toContain("✓ key            accepted (this restricted key cannot read account details)");
    expect(lines.find((l) => l.includes(" events "))).toMatch(
      /^✗ events {9}HTTP 403: The provided key 'rk_test_…' does not have the required permissions .*'rak_event_read'/,
    );
    expect(lines.find((l) => l.includes(" subscriptions "))).toMatch(/^✗ subscriptions {2}HTTP 403/);
    expect(lines.filter((l) => l.startsWith("✓"))).toHaveLength(7);
    expect(h.err.text()).toBe("2 of 9 checks failed\n");
    expect(h.out.text() + h.err.text()).not.toContain("restrictedNoEvents42");
  });

  it("fails every check on an unknown key without sending the permission reads", async () => {
    const { code, h } = await run(UNKNOWN);
    expect(code).toBe(1);
    const lines = h.out.lines();
    expect(lines[1]).toMatch(/^✗ key {12}HTTP 401: Invalid API Key provided: sk_test_…$/);
    expect(lines.slice(2).every((l) => l.endsWith("not checked: the key was rejected"))).toBe(true);
    expect(fake.requests).toHaveLength(1);
    expect(h.out.text() + h.err.text()).not.toContain("notAKnownKey7777");
  });

  it("takes no arguments", async () => {
    const h = await createHarness({ fake, eventLog: createRecordingEventLog() });
    harnesses.push(h);
    expect(await testConnectionCommand.run(["--verbose"], h.deps)).toBe(2);
    expect(h.err.text()).toContain("Unknown option '--verbose'");
  });

  // What a wrong STRIPE_API_BASE or a broken proxy answers: nothing here is Stripe's API.
  it.each([
    {
      name: "a 500 without an error key",
      failure: { status: 500, rawBody: "{}" },
      detail: /HTTP 500 without a Stripe error/,
    },
    {
      name: "a 502 HTML page",
      failure: { status: 502, rawBody: "<html>Bad gateway</html>" },
      detail: /HTTP 502|invalid JSON|malformed/i,
    },
    { name: "a 200 that is not JSON", failure: { rawBody: "OK" }, detail: /./ },
    {
      name: "a 200 with the wrong object",
      failure: { rawBody: '{"object":"balance"}' },
      detail: /malformed answer: expected a Stripe list/,
    },
    {
      name: "a 200 list without data",
      failure: { rawBody: '{"object":"list"}' },
      detail: /malformed answer: expected a Stripe list/,
    },
  ])("reports ✗ for $name", async ({ failure, detail }) => {
    fake.failNext(1, { ...failure, path: "/v1/customers" });
    const { code, h } = await run(FAKE_SECRET_KEY);
    expect(code).toBe(1);
    const line = h.out.lines().find((l) => l.includes(" customers "));
    expect(line).toMatch(/^✗ customers/);
    expect(line).toMatch(detail);
    expect(h.out.lines().filter((l) => l.startsWith("✗"))).toHaveLength(1);
  });

  it("reports ✗ for the key when the account answer is not an account", async () => {
    fake.failNext(1, { status: 500, rawBody: '{"message":"upstream down"}', path: "/v1/account" });
    const { code, h } = await run(FAKE_SECRET_KEY);
    expect(code).toBe(1);
    expect(h.out.lines()[1]).toMatch(/^✗ key {12}HTTP 500 without a Stripe error/);
  });
});
