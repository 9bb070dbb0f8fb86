import { afterEach, describe, expect, it } from "vitest";
import type { BrevoTransport } from "./adapters/brevo-transport.ts";
import { FencedError, type SinkState } from "./adapters/sink-state.ts";
import { parseSinkConfigText } from "./config-file.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import { customer } from "./testing/customers.ts";
import type { FakeBrevo } from "./testing/fake-brevo.ts";
import { sinkHarness } from "./testing/harness.ts";
import { brevoDiffersFromDesired } from "./testing/oracle.ts";

/**
 * Two passes that both believe they lead (the old leader's lock connection dropped mid-pass), with
 * the worst interleaving of issue #11: Brevo gets new then old, the bookkeeping old then new.
 */
const config = parseSinkConfigText(`
version: 1
lists:
  all_customers: 2
  subscribers: 3
  churned: 4
`);

const open: FakeBrevo[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

const gate = () => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
};

describe("fenced leadership", () => {
  it("an old pass that lost the lead cannot leave Brevo stale: the leader repairs what it touched", async () => {
    const h = await sinkHarness(config);
    open.push(h.fake);
    const before = customer("cus_x", { subscriptionStatus: "active" });
    h.source.put(before);
    const epoch1 = await h.state.acquireLease("old leader");
    await h.run({ fence: epoch1 });
    expect(h.fake.contactByExtId("cus_x")?.listIds).toEqual(new Set([2, 3]));

    // The customer churns. The old leader's pass reads it first...
    const churned: CustomerReadModel = { ...before, subscriptionStatus: "canceled", churned: true };
    h.source.put(churned);
    const oldWrites = gate();
    const newConfirmed = gate();
    const slowTransport: BrevoTransport = {
      ...h.transport,
      updateContact: async (id, body) => {
        await oldWrites.opened; // ...and its request is held up in the network
        return h.transport.updateContact(id, body);
      },
    };
    const oldPass = h.run({ fence: epoch1 }, { transport: slowTransport });
    await new Promise((r) => setTimeout(r, 50));

    // Meanwhile its lock connection died: a standby takes the lead and the customer changes again.
    const epoch2 = await h.state.acquireLease("new leader");
    const back: CustomerReadModel = { ...churned, subscriptionStatus: "active", churned: false, name: "Back" };
    h.source.put(back);
    const leaderBookkeepingLate: SinkState = {
      ...h.state,
      savePushed: async (states, fence, repaired) => {
        await newConfirmed.opened; // the leader's bookkeeping lands after the old pass's
        return h.state.savePushed(states, fence, repaired);
      },
    };
    const newPass = h.run({ fence: epoch2, onConfirmed: () => oldWrites.open() }, { state: leaderBookkeepingLate });
    // Brevo: new (leader) then old (stale pass). The stale pass is fenced at its bookkeeping.
    await expect(oldPass).rejects.toBeInstanceOf(FencedError);
    newConfirmed.open();
    await newPass;
    expect(h.fake.contactByExtId("cus_x")?.listIds).toEqual(new Set([2, 4])); // stale: the churned state

    // The leader's next pass repairs the contact the fenced pass touched.
    await h.run({ fence: epoch2 });
    expect(brevoDiffersFromDesired(h.fake, config, [back])).toEqual([]);
    expect(h.fake.contactByExtId("cus_x")?.listIds).toEqual(new Set([2, 3]));
    expect(h.state.failures.size).toBe(0);
    // And the stale pass cannot even start another batch.
    h.source.put({ ...back, name: "Changed again" });
    h.fake.resetLog();
    await expect(h.run({ fence: epoch1 })).rejects.toBeInstanceOf(FencedError);
    expect(h.fake.log).toEqual([]);
  });
});
