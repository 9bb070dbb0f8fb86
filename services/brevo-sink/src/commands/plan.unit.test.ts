import { describe, expect, it } from "vitest";
import { createMemorySinkState } from "../adapters/memory-sink-state.ts";
import { createMemoryProjectionSource } from "../adapters/projection-source.ts";
import { parseSinkConfigText } from "../config-file.ts";
import { desiredContact } from "../domain/desired.ts";
import { formatPlan } from "../domain/plan.ts";
import { customer } from "../testing/customers.ts";
import { planAll } from "./plan.ts";

describe("plan (dry run)", () => {
  it("counts what a resync would send, per kind, with a sample and without any Brevo client", async () => {
    const config = parseSinkConfigText("version: 1\nlists:\n  all_customers: 2\n  subscribers: 3\n");
    const source = createMemoryProjectionSource();
    const state = createMemorySinkState();
    const unchanged = customer("cus_same", { currency: "usd", totalSpent: { usd: 100 } });
    const changed = customer("cus_changed", {
      currency: "usd",
      totalSpent: { usd: 900 },
      subscriptionStatus: "active",
    });
    for (const m of [unchanged, customer("cus_changed", { currency: "usd", totalSpent: { usd: 100 } })]) {
      const d = desiredContact(m, config);
      if (d.kind === "contact") await state.savePushed([d.state]);
    }
    source.put(unchanged, changed, customer("cus_new"), customer("cus_noemail", { email: null }));
    const plan = await planAll({ config, source, state }, 5, 2);
    expect(plan).toMatchObject({
      customers: 4,
      create: 1,
      update: 1,
      unchanged: 1,
      skippedNoEmail: 1,
      listAdds: 2,
      listRemoves: 0,
    });
    expect(plan.sample).toEqual([
      "update cus_changed: set SUB_STATUS,TOTAL_SPENT; clear -; lists +[3] -[]",
      expect.stringMatching(/^create cus_new: set .*CURRENCY.*; lists \+\[2\]$/),
    ]);
    expect(formatPlan(plan)).toContain("skipped (no email): 1");
  });
});
