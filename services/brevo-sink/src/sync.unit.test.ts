import { afterEach, describe, expect, it } from "vitest";
import type { SinkState } from "./adapters/sink-state.ts";
import { parseSinkConfigText } from "./config-file.ts";
import type { SinkEvent } from "./domain/events.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import { customer, population } from "./testing/customers.ts";
import type { FakeBrevo } from "./testing/fake-brevo.ts";
import { sinkHarness } from "./testing/harness.ts";
import { brevoDiffersFromDesired, eventsSentTwice } from "./testing/oracle.ts";

/** The sink against the fake Brevo, under faults: oracle C and "no event twice" after each. */

const config = parseSinkConfigText(`
version: 1
attributes:
  VIP_TIER: { from: metadata.customer_tier }
lists:
  all_customers: 2
  subscribers: 3
  churned: 4
  trialing: 5
  custom:
    - { name: big, list_id: 9, when: "total_spent >= 10000" }
events:
  send_after: "2023-01-01T00:00:00Z"
`);

const open: FakeBrevo[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

async function harness(...args: Parameters<typeof sinkHarness> extends [unknown, ...infer R] ? R : never) {
  const h = await sinkHarness(config, ...args);
  open.push(h.fake);
  return h;
}

/** Runs passes until one succeeds with nothing left to push (transient failures end a pass early). */
async function untilQuiet(run: () => Promise<{ pushed: number; failed: number }>, max = 30) {
  for (let i = 0; i < max; i++) {
    try {
      const r = await run();
      if (r.pushed === 0) return i;
    } catch {
      // A pass that gave up (retries exhausted, or a simulated crash): the next one redoes it.
    }
  }
  throw new Error(`not quiet after ${max} passes`);
}

const changeSome = (models: CustomerReadModel[], every: number): CustomerReadModel[] =>
  models
    .filter((_, i) => i % every === 0)
    .map((m, i) => ({
      ...m,
      paymentCount: m.paymentCount + 1,
      totalSpent: { ...m.totalSpent, [m.currency ?? "usd"]: (m.totalSpent[m.currency ?? "usd"] ?? 0) + 20_000 },
      subscriptionStatus: i % 2 === 0 ? "canceled" : m.subscriptionStatus,
      churned: i % 2 === 0 ? true : m.churned,
      name: i % 3 === 0 ? null : m.name,
    }));

const liveEvent = (id: string, customerId: string, type = "invoice.payment_failed", live = true): SinkEvent => ({
  id,
  type,
  created: 1_710_000_000,
  customerId,
  live,
  object: { id: `in_${id}`, currency: "usd", amount_due: 1250, status: "open" },
});

describe("sink against the fake Brevo", () => {
  it("converges in bulk then incremental mode, and a pure re-projection costs zero Brevo calls", async () => {
    const h = await harness();
    const models = population(300);
    h.source.put(...models);
    const first = await h.run();
    expect(first.bulkPages).toBeGreaterThan(0);
    expect(first.skippedNoEmail).toBeGreaterThan(0);
    expect(h.fake.counts()["createContact"] ?? 0).toBe(0); // all through /contacts/import
    expect(brevoDiffersFromDesired(h.fake, config, models)).toEqual([]);
    expect(h.fake.ignoredValues).toEqual([]); // every value had the attribute's type

    const changed = changeSome(models, 10);
    h.source.put(...changed);
    h.fake.resetLog();
    const second = await h.run();
    expect(second.bulkPages).toBe(0);
    expect(second.pushed).toBe(changed.filter((m) => m.email !== null).length);
    expect(h.fake.counts()).toEqual({ updateContact: second.pushed });
    const now = new Map(models.map((m) => [m.customerId, m]));
    for (const m of changed) now.set(m.customerId, m);
    expect(brevoDiffersFromDesired(h.fake, config, now.values())).toEqual([]);

    // A rebuild rewrites every row with the same values: the diff finds nothing to send.
    h.source.put(...now.values());
    h.fake.resetLog();
    const rebuild = await h.run();
    expect(rebuild.customers).toBe(models.length);
    expect(rebuild.pushed).toBe(0);
    expect(h.fake.log).toEqual([]);
  });

  it("survives a 429 storm: waits for the reset, never gives up a contact", async () => {
    const h = await harness(
      { rateLimits: { contacts: { perSecond: 25, perHour: 100_000 }, events: { perSecond: 25, perHour: 100_000 } } },
      // The client believes it may send 500/s: the server's 429s and headers must slow it down.
      { perSecond: 500, maxJitterMs: 50 },
    );
    h.fake.inject({ kind: "429", times: 5 });
    const models = population(80, 2);
    h.source.put(...models);
    await untilQuiet(() => h.run({ bulkThreshold: 1_000 }));
    expect(h.transport.stats.throttled).toBeGreaterThanOrEqual(5);
    // Past the injected storm, the headers (remaining 0 → wait for the reset) keep the client under the limit.
    expect(h.transport.limiter.stats.waits).toBeGreaterThan(0);
    expect(brevoDiffersFromDesired(h.fake, config, models)).toEqual([]);
  }, 60_000);

  it("survives 5xx, timeouts and apply-then-fail on every operation; events are never sent twice", async () => {
    const h = await harness({ timeoutFaultMs: 400 }, { timeoutSeconds: 0.2, maxAttempts: 4 });
    const models = population(120, 3);
    h.source.put(...models);
    const withEmail = models.filter((m) => m.email !== null);
    h.events.append(...withEmail.slice(0, 40).map((m, i) => liveEvent(`evt_${i}`, m.customerId)));
    h.fake.setRandomFaults({ rate: 0.25, kinds: ["5xx", "timeout", "apply-then-fail"], seed: 7 });
    await untilQuiet(() => h.run(), 60);
    h.source.put(...changeSome(models, 3));
    await untilQuiet(() => h.run({ bulkThreshold: 20 }), 60);
    h.fake.setRandomFaults(undefined);
    await untilQuiet(() => h.run());

    const latest = [...h.source.models.values()];
    expect(brevoDiffersFromDesired(h.fake, config, latest)).toEqual([]);
    expect(eventsSentTwice(h.fake)).toEqual([]);
    const ledger = await h.state.eventCounts();
    // Each event is either sent, or in doubt after an ambiguous failure (then sent at most once).
    expect(ledger.sent + ledger.uncertain).toBe(40);
    expect(h.fake.events.length).toBeGreaterThanOrEqual(ledger.sent);
    expect(h.fake.events.length).toBeLessThanOrEqual(40);
    expect(h.fake.log.some((e) => e.fault === "apply-then-fail")).toBe(true);
  });

  it("a crash between the Brevo call and the bookkeeping causes a re-send, never a loss or a double event", async () => {
    const h = await harness();
    const models = population(60, 4);
    h.source.put(...models);
    const withEmail = models.filter((m) => m.email !== null);
    h.events.append(...withEmail.slice(0, 10).map((m, i) => liveEvent(`evt_c${i}`, m.customerId)));
    // The process "dies" right after Brevo confirmed: nothing of that pass gets recorded.
    let crashes = 2;
    const crashing: SinkState = {
      ...h.state,
      savePushed: async (states) => {
        if (crashes-- > 0) throw new Error("kill -9 (simulated) after Brevo applied, before the bookkeeping");
        return h.state.savePushed(states);
      },
      settleEvent: async (id, status, detail) => {
        if (id === "evt_c3") throw new Error("kill -9 (simulated) after the event was sent");
        return h.state.settleEvent(id, status, detail);
      },
    };
    await expect(h.run({}, { state: crashing })).rejects.toThrow(/kill -9/);
    await expect(h.run({ bulkThreshold: 1_000 }, { state: crashing })).rejects.toThrow(/kill -9/);
    await expect(h.run({}, { state: crashing })).rejects.toThrow(/kill -9/); // the event crash
    await untilQuiet(() => h.run({}, { state: crashing }));
    expect(brevoDiffersFromDesired(h.fake, config, models)).toEqual([]);
    expect(eventsSentTwice(h.fake)).toEqual([]);
    expect(h.fake.events).toHaveLength(10);
    expect((await h.state.eventCounts()).sending).toBe(1); // evt_c3: sent, outcome unrecorded, reported
    // Re-sends happened (the price of never losing an update) and were harmless.
    expect(h.fake.counts()["importContacts"] ?? 0).toBeGreaterThanOrEqual(1);
  });

  it.each(["unlink_lists", "clear_attributes", "delete_contact"] as const)("deleted customers: %s", async (policy) => {
    const h = await sinkHarness({ ...config, deletedPolicy: policy });
    open.push(h.fake);
    const alive = customer("cus_d", { currency: "usd", totalSpent: { usd: 50_000 }, subscriptionStatus: "active" });
    h.source.put(alive);
    await h.run();
    expect(h.fake.contactByExtId("cus_d")?.listIds.size).toBe(3);
    h.source.put({ ...alive, deleted: true, email: null, name: null });
    await h.run();
    const c = h.fake.contactByExtId("cus_d");
    if (policy === "delete_contact") expect(c).toBeUndefined();
    else {
      expect(c?.listIds.size).toBe(0);
      expect(c?.attributes["TOTAL_SPENT"]).toBe(policy === "clear_attributes" ? undefined : 500);
    }
    h.fake.resetLog();
    await h.run({ mode: "resync" });
    expect(h.fake.log).toEqual([]);
  });

  it("custom events: live and new only, once per Stripe event id, never for replays or history", async () => {
    const h = await harness();
    h.source.put(customer("cus_e"), customer("cus_f", { email: null }));
    h.events.append(
      liveEvent("evt_1", "cus_e"),
      liveEvent("evt_1", "cus_e"), // Stripe delivered it twice
      liveEvent("evt_2", "cus_e", "invoice.paid", false), // replay/backfill
      { ...liveEvent("evt_3", "cus_e"), created: 1_600_000_000 }, // before the watermark
      liveEvent("evt_4", "cus_e", "customer.updated"), // not mapped
      liveEvent("evt_5", "cus_f"), // no Brevo contact
      liveEvent("evt_6", "cus_e", "customer.subscription.trial_will_end"),
    );
    const r = await h.run();
    expect(r.events).toEqual({ sent: 2, duplicate: 1, skipped: 4, uncertain: 0, failed: 0 });
    expect(h.fake.events.map((e) => e.eventName)).toEqual(["payment_failed", "trial_ending"]);
    expect(h.fake.events[0]).toMatchObject({
      identifiers: { ext_id: "cus_e" },
      properties: { stripe_event_id: "evt_1", amount_due: 1250, amount_due_display: "12.50", currency: "USD" },
    });
    // A second pass, or a full replay of the event feed, sends nothing again.
    h.events.append(liveEvent("evt_1", "cus_e"), liveEvent("evt_6", "cus_e", "customer.subscription.trial_will_end"));
    await h.run();
    expect(h.fake.events).toHaveLength(2);
  });
});
