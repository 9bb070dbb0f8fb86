import { describe, expect, it } from "vitest";
import { parseSinkConfigText } from "./config-file.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import { customer } from "./testing/customers.ts";
import { harnessPerTest } from "./testing/harness-per-test.ts";

/**
 * Writes whose outcome nobody recorded (SinkState.markInFlight). Found by the chaos soak: the sink
 * was killed while an import that added "past_due" ran; Brevo applied it, the bookkeeping never
 * heard, and the contact, back to active, stayed in "past_due" for good.
 */
const config = parseSinkConfigText(`
version: 1
lists:
  all_customers: 2
  subscribers: 3
  churned: 4
  trialing: 5
  past_due: 6
`);

const harness = harnessPerTest();

/** Dies once Brevo confirmed `n` contacts, before the bookkeeping (like sink.int.test's kill -9). */
const killedAfter = (n: number) => {
  let confirmed = 0;
  return () => {
    if (++confirmed >= n) throw new Error("killed after Brevo applied the write, before the bookkeeping");
  };
};
const lists = (h: Awaited<ReturnType<typeof harness>>, id: string) =>
  [...(h.fake.contactByExtId(id)?.listIds ?? [])].sort((a, b) => a - b);

describe.each(["incremental", "bulk"] as const)("a write nobody recorded (%s)", (forceMode) => {
  const active = (id: string): CustomerReadModel => customer(id, { subscriptionStatus: "active", mrr: { usd: 1000 } });

  it("is repaired on the next pass even when the state went back to what was last recorded", async () => {
    const h = await harness(config);
    h.source.put(active("cus_1"), active("cus_2"));
    await h.run({ forceMode });
    expect(lists(h, "cus_1")).toEqual([2, 3]);

    h.source.put(
      { ...active("cus_1"), subscriptionStatus: "past_due" },
      { ...active("cus_2"), subscriptionStatus: "past_due" },
    );
    await expect(h.run({ forceMode, onConfirmed: killedAfter(2) })).rejects.toThrow(/killed/);
    // Brevo applied it (past_due joined); the bookkeeping still says [2, 3].
    expect(lists(h, "cus_1")).toEqual([2, 3, 6]);
    expect((await h.state.loadPushed(["cus_1"])).get("cus_1")?.lists).toEqual([2, 3]);

    // Paid again: exactly the recorded state, so a diff against the bookkeeping finds nothing to do.
    h.source.put(active("cus_1"), active("cus_2"));
    await h.run({ forceMode });
    expect(lists(h, "cus_1")).toEqual([2, 3]);
    expect(lists(h, "cus_2")).toEqual([2, 3]);
    expect(h.state.inFlightMarks.size).toBe(0);
  });

  it("is repaired when the state changed again, without waiting for a retry", async () => {
    const h = await harness(config);
    h.source.put(active("cus_1"));
    await h.run({ forceMode });
    h.source.put({ ...active("cus_1"), subscriptionStatus: "past_due" });
    await expect(h.run({ forceMode, onConfirmed: killedAfter(1) })).rejects.toThrow(/killed/);
    h.source.put({ ...active("cus_1"), subscriptionStatus: "canceled", mrr: {}, churned: true });
    await h.run({ forceMode });
    expect(lists(h, "cus_1")).toEqual([2, 4]);
    expect(h.state.inFlightMarks.size).toBe(0);
  });
});

describe("an import still running when its sink died", () => {
  it("is waited for before the repair, so it cannot re-add a list afterwards", async () => {
    const h = await harness(config, { importDelayMs: 400 });
    const active = (id: string) => customer(id, { subscriptionStatus: "active", mrr: { usd: 1000 } });
    h.source.put(active("cus_1"));
    await h.run({ forceMode: "bulk" });
    h.source.put({ ...active("cus_1"), subscriptionStatus: "past_due" });
    // Killed right after Brevo accepted the import, while Brevo still processes it.
    const dying = {
      ...h.transport,
      awaitProcesses: async () => {
        throw new Error("killed while Brevo processed the import");
      },
    };
    await expect(h.run({ forceMode: "bulk" }, { transport: dying })).rejects.toThrow(/killed/);
    expect(lists(h, "cus_1")).toEqual([2, 3]); // not applied yet
    expect(h.state.inFlightMarks.get("cus_1")?.processId).toEqual(expect.any(Number));

    h.source.put(active("cus_1"));
    await h.run({ forceMode: "bulk" });
    await new Promise((r) => setTimeout(r, 600)); // long past the import's delay
    expect(lists(h, "cus_1")).toEqual([2, 3]);
    expect(h.state.inFlightMarks.size).toBe(0);
  });
});

describe("confirmed writes", () => {
  it("leave no mark, and an ordinary update removes only lists the contact was recorded in", async () => {
    const h = await harness(config);
    h.source.put(customer("cus_1", { subscriptionStatus: "active", mrr: { usd: 1000 } }));
    await h.run({ forceMode: "incremental" });
    h.fake.resetLog();
    h.source.put(customer("cus_1", { subscriptionStatus: "active", mrr: { usd: 2000 }, paymentCount: 2 }));
    await h.run({ forceMode: "incremental" });
    const updates = h.fake.log.filter((e) => e.method === "PUT");
    expect(updates).toHaveLength(1);
    // Not every managed list it is not in (the earlier fix's cost: one removal per managed list).
    const body = (updates[0]?.requestBody ?? {}) as { unlinkListIds?: number[] };
    expect(body.unlinkListIds ?? []).toEqual([]);
    expect(h.state.inFlightMarks.size).toBe(0);
  });

  it("a contact Brevo refused keeps its mark and is repaired whole when its retry comes", async () => {
    const h = await harness(config);
    h.source.put(customer("cus_1", { email: "not-an-email" }));
    await h.run({ forceMode: "incremental" });
    expect(h.state.failures.get("cus_1")?.code).toBeDefined();
    expect(h.state.inFlightMarks.has("cus_1")).toBe(true);
    h.source.put(customer("cus_1", { email: "fixed@example.com" }));
    await h.run({ forceMode: "incremental" });
    expect(h.fake.contactByExtId("cus_1")?.email).toBe("fixed@example.com");
    expect(h.state.inFlightMarks.size).toBe(0);
  });
});
