import { afterEach, describe, expect, it } from "vitest";
import { parseSinkConfigText } from "./config-file.ts";
import { customer } from "./testing/customers.ts";
import type { FakeBrevo } from "./testing/fake-brevo.ts";
import { sinkHarness } from "./testing/harness.ts";
import { sampleDrift } from "./verify.ts";

const config = parseSinkConfigText(`
version: 1
attributes:
  PLAN: { from: plan_name }
lists:
  all_customers: 2
  subscribers: 3
`);
const open: FakeBrevo[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

describe("drift check (verify --sample)", () => {
  it("finds nothing after a sync, and names the field when Brevo did not do what the sink assumed", async () => {
    // Brevo ignoring "" (the opposite of the assumption): a cleared plan stays in Brevo.
    const h = await sinkHarness(config, { assumptions: { emptyClears: false } });
    open.push(h.fake);
    const a = customer("cus_a", { planName: "Pro", subscriptionStatus: "active" });
    const b = customer("cus_b", { planName: "Basic" });
    h.source.put(a, b);
    await h.run();
    const getContact = async (extId: string) => {
      const c = h.fake.contactByExtId(extId);
      return c && { email: c.email, attributes: c.attributes, listIds: [...c.listIds] };
    };
    const clean = await sampleDrift({
      config,
      state: h.state,
      source: h.source,
      extIds: ["cus_a", "cus_b"],
      getContact,
    });
    expect(clean).toMatchObject({ sampled: 2, missing: 0, vsPushed: {}, vsDesired: {} });

    h.source.put({ ...a, planName: null, subscriptionStatus: "canceled" });
    await h.run();
    const drift = await sampleDrift({
      config,
      state: h.state,
      source: h.source,
      extIds: ["cus_a", "cus_b"],
      getContact,
    });
    // PLAN and the default PLAN_NAME both map plan_name: both stayed "Pro" in Brevo.
    expect(drift.vsPushed).toEqual({ PLAN: 1, PLAN_NAME: 1 });
    expect(drift.vsDesired).toEqual({ PLAN: 1, PLAN_NAME: 1 });
    expect(drift.examples).toEqual(["cus_a: PLAN, PLAN_NAME"]);
    expect(drift.drifted).toBe(1);
  });
});
