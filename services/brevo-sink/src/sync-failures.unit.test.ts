import { AppError } from "@sbs/shared";
import { describe, expect, it } from "vitest";
import type { BrevoTransport } from "./adapters/brevo-transport.ts";
import { parseSinkConfigText } from "./config-file.ts";
import type { SinkEvent } from "./domain/events.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import { customer, population } from "./testing/customers.ts";
import { harnessPerTest } from "./testing/harness-per-test.ts";
import { brevoDiffersFromDesired } from "./testing/oracle.ts";

/** Failure windows of issue #11: collisions, failing contacts, import reports, deleted customers. */
const config = parseSinkConfigText(`
version: 1
lists:
  all_customers: 2
  subscribers: 3
  churned: 4
events:
  send_after: "2023-01-01T00:00:00Z"
`);

const harness = harnessPerTest();

describe("email ownership", () => {
  it("the oldest customer owns a shared email, whatever the order Brevo handles requests in (100 runs)", async () => {
    for (let run = 0; run < 100; run++) {
      const h = await harness(config, { latency: { maxMs: 4, seed: run + 1 } });
      // cus_z is the oldest although its id sorts last and it comes last in the feed.
      const models = [
        customer("cus_a", { email: "shared@example.com", createdAt: 1_700_000_300 }),
        customer("cus_b", { email: "shared@example.com", createdAt: 1_700_000_200 }),
        customer("cus_c", { email: "c@example.com" }),
        customer("cus_z", { email: "shared@example.com", createdAt: 1_700_000_100 }),
      ];
      h.source.put(...models);
      const r = await h.run();
      expect(h.fake.contactByExtId("cus_z")?.email, `run ${run}`).toBe("shared@example.com");
      expect(r.pushed).toBe(2);
      expect([...h.state.failures.values()].map((f) => [f.extId, f.code]).sort()).toEqual([
        ["cus_a", "duplicate_parameter"],
        ["cus_b", "duplicate_parameter"],
      ]);
      await harness.closeAll();
    }
  }, 60_000);

  it("an email change onto an address Brevo already holds still applies lists and attributes", async () => {
    const h = await harness(config);
    const owner = customer("cus_o", { email: "taken@example.com", createdAt: 1 });
    const mover = customer("cus_m", { email: "m@example.com", subscriptionStatus: "active" });
    h.source.put(owner, mover);
    await h.run();
    // cus_m churns and, in the same change, takes an email cus_o holds.
    h.source.put({ ...mover, email: "taken@example.com", subscriptionStatus: "canceled", churned: true });
    await h.run();
    const c = h.fake.contactByExtId("cus_m");
    expect(c?.listIds).toEqual(new Set([2, 4])); // left "subscribers", joined "churned"
    expect(c?.email).toBe("m@example.com"); // Brevo kept the old email
    expect((await h.state.loadPushed(["cus_m"])).get("cus_m")?.email).toBe("m@example.com");
  });
});

describe("failing contacts", () => {
  it("one contact that always times out is parked; the others converge and the cursor advances", async () => {
    const h = await harness(config);
    const failing = (id: string) => id === "cus_bad";
    const flaky: BrevoTransport = {
      ...h.transport,
      upsertContact: async (id, body) => {
        if (failing(id))
          throw new AppError("brevo_unavailable", "POST /contacts: timeout (after 6 attempts)", { retriable: true });
        return h.transport.upsertContact(id, body);
      },
    };
    const models = [customer("cus_1"), customer("cus_bad"), customer("cus_2")];
    h.source.put(...models);
    const r = await h.run({}, { transport: flaky });
    expect(r.pushed).toBe(2);
    expect(h.state.failures.get("cus_bad")?.code).toBe("unavailable");
    // The cursor moved: a change of another customer is the only thing the next pass reads.
    h.source.put({ ...(models[0] as CustomerReadModel), name: "New" });
    const next = await h.run({}, { transport: flaky });
    expect(next.customers).toBe(2); // cus_1 from the feed, cus_bad from the retries
    expect(brevoDiffersFromDesired(h.fake, config, [models[2] as CustomerReadModel])).toEqual([]);
    // After PARK_AFTER attempts it is no longer retried every pass (exponential backoff).
    await h.run({}, { transport: flaky });
    expect(h.state.failures.get("cus_bad")?.attempts).toBe(3);
    const parked = await h.run({}, { transport: flaky });
    expect(parked.customers).toBe(0);
    expect(h.state.failures.get("cus_bad")?.nextAttemptAt).toBeGreaterThan(Date.now() + 50_000);
  });

  it("Brevo down for everyone: the pass fails and the cursor stays", async () => {
    const h = await harness(config);
    const down: BrevoTransport = {
      ...h.transport,
      upsertContact: async () => {
        throw new AppError("brevo_unavailable", "HTTP 503", { retriable: true });
      },
    };
    h.source.put(...population(10).filter((m) => m.email !== null && !m.deleted));
    await expect(h.run({}, { transport: down })).rejects.toThrow(/503/);
    expect(h.state.failures.size).toBe(0);
    const r = await h.run();
    expect(r.pushed).toBeGreaterThan(0);
  });
});

describe("import failure reports", () => {
  const rows = () => [
    ...Array.from({ length: 30 }, (_, i) => customer(`cus_${i}`)),
    customer("cus_invalid", { email: "not-an-email" }),
  ];

  it("reads the CSV files Brevo's report URLs point to: only the refused rows are pushed again", async () => {
    const h = await harness(config);
    h.source.put(...rows());
    const r = await h.run({ bulkThreshold: 10 });
    expect(r.bulkPages).toBe(1);
    expect(h.fake.files.size).toBe(1);
    // One per-contact call: the refused row, for a definitive answer (not all 31).
    expect(h.fake.counts()["createContact"]).toBe(1);
    expect(h.state.failures.get("cus_invalid")?.code).toBe("invalid_parameter");
    expect(brevoDiffersFromDesired(h.fake, config, rows().slice(0, 30))).toEqual([]);
  });

  it("fails closed: a report that is not a readable CSV URL re-pushes the whole chunk, never assumes it good", async () => {
    const h = await harness(config, { importReports: "identifiers" });
    h.source.put(...rows());
    await h.run({ bulkThreshold: 10 });
    expect(h.fake.counts()["createContact"]).toBe(31);
    expect(h.state.failures.get("cus_invalid")?.code).toBe("invalid_parameter");
  });
});

describe("deleted customers and removed emails", () => {
  const event = (id: string, customerId: string): SinkEvent => ({
    id,
    type: "customer.subscription.deleted",
    created: 1_710_000_000,
    customerId,
    live: true,
    object: { id: `sub_${id}`, status: "canceled" },
  });

  it.each(["unlink_lists", "clear_attributes", "delete_contact"] as const)(
    "%s: no custom event for a deleted customer (Stripe cancels its subscriptions on deletion)",
    async (policy) => {
      const h = await harness({ ...config, deletedPolicy: policy });
      const alive = customer("cus_del", { subscriptionStatus: "active" });
      h.source.put(alive);
      await h.run();
      h.source.put({ ...alive, deleted: true, email: null, subscriptionStatus: "canceled" });
      h.events.append(event("evt_cancel", "cus_del"));
      const r = await h.run();
      expect(h.fake.events).toEqual([]);
      expect(r.events.skipped).toBe(1);
    },
  );

  it("an email removed in Stripe is handled like a deletion: the contact leaves the lists", async () => {
    const h = await harness(config);
    const alive = customer("cus_noemail", { subscriptionStatus: "active" });
    h.source.put(alive);
    await h.run();
    h.source.put({ ...alive, email: null });
    await h.run();
    const c = h.fake.contactByExtId("cus_noemail");
    if (config.deletedPolicy === "delete_contact") expect(c).toBeUndefined();
    else expect(c?.listIds.size).toBe(0);
  });
});
