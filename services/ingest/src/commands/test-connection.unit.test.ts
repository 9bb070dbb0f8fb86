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
});
