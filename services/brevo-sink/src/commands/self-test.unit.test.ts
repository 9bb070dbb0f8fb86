import { describe, expect, it } from "vitest";
import { startFakeBrevo } from "../testing/fake-brevo.ts";
import { runSelfTest } from "./self-test.ts";

const fast = { contacts: { perSecond: 1000, perHour: 100_000 }, other: { perSecond: 1000, perHour: 100_000 } };

describe("live self-test (pnpm cli test-connection --brevo) against the fake", () => {
  it("passes every check when Brevo behaves as the sink assumes, and cleans up", async () => {
    const fake = await startFakeBrevo({ importDelayMs: 5, rateLimits: fast });
    try {
      const checks = await runSelfTest({ baseUrl: fake.url, apiKey: fake.apiKey, folderId: 1, sleep: async () => {} });
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.length).toBe(9);
      expect(fake.contacts.size).toBe(0);
      expect([...fake.attributes.keys()].some((a) => a.startsWith("SBS_SELFTEST"))).toBe(false);
    } finally {
      await fake.close();
    }
  });

  it("fails exactly the checks whose assumption the fake was switched against", async () => {
    const fake = await startFakeBrevo({
      importDelayMs: 5,
      rateLimits: fast,
      assumptions: { emptyClears: false, importExtId: false },
    });
    try {
      const checks = await runSelfTest({ baseUrl: fake.url, apiKey: fake.apiKey, folderId: 1, sleep: async () => {} });
      expect(checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
        '"" clears a text attribute (PUT /contacts/{ext_id})',
        '"" clears a float attribute (PUT /contacts/{ext_id})',
        '"" clears a date attribute (PUT /contacts/{ext_id})',
        '"" clears a boolean attribute (PUT /contacts/{ext_id})',
        "import with EXT_ID in the row's attributes sets the ext_id (read back by ext_id)",
      ]);
    } finally {
      await fake.close();
    }
  });

  it("a wrong key: every check fails, nothing claimed", async () => {
    const fake = await startFakeBrevo();
    try {
      const checks = await runSelfTest({ baseUrl: fake.url, apiKey: "wrong", folderId: 1 });
      expect(checks.every((c) => !c.ok)).toBe(true);
      expect(checks[0]?.detail).toMatch(/401/);
    } finally {
      await fake.close();
    }
  });
});

describe("the sink at start, after a self-test", () => {
  it("refuses to start (SINK_SELF_TEST=refuse) or warns (default) when a relied-on behaviour failed", async () => {
    const { checkSelfTest } = await import("../app.ts");
    const { createMemorySinkState } = await import("../adapters/memory-sink-state.ts");
    const { createLogger } = await import("@sbs/shared");
    const logger = createLogger({ service: "self-test-check", level: "silent" });
    const state = createMemorySinkState();
    await state.setCursor(
      "brevo_self_test",
      JSON.stringify({ at: "2026-12-01T00:00:00Z", failed: ['"" clears a date attribute'] }),
    );
    await expect(checkSelfTest(state, "refuse", logger)).rejects.toThrow(/clears a date attribute/);
    await expect(checkSelfTest(state, "warn", logger)).resolves.toBeUndefined();
    await state.setCursor("brevo_self_test", JSON.stringify({ at: "2026-12-01T00:00:00Z", failed: [] }));
    await expect(checkSelfTest(state, "refuse", logger)).resolves.toBeUndefined();
  });
});
