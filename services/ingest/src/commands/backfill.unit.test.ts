import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness, TEST_TOPICS } from "../testing/command-harness.ts";
import { type FakeStripe, type StripeObject, sortNewestFirst, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog, eventOf, type RecordingEventLog } from "../testing/recording-event-log.ts";
import { buildSeed, loadSeed, type Seed } from "../testing/stripe-seed.ts";
import { hasStripeFixtures } from "../testing/stripe-signing.ts";
import { backfillCommand } from "./backfill.ts";
import type { Clock } from "./clock.ts";
import { BACKFILL_RESOURCES, type BackfillResource, type BackfillState } from "./cursor-state.ts";
import { PINNED_API_VERSION } from "./event-types.ts";

const NOW = Math.floor(Date.now() / 1000);
const NEWEST = NOW - 1000;
const SPACING = 3600;
// 18 of the 23 objects per resource were created on or after this.
const SINCE = NEWEST - 8 * SPACING;
const SINCE_ARG = new Date(SINCE * 1000).toISOString();

const SINGULAR: Record<BackfillResource, string> = {
  customers: "customer",
  subscriptions: "subscription",
  charges: "charge",
  invoices: "invoice",
  disputes: "dispute",
  products: "product",
  prices: "price",
};

/** The objects a backfill since SINCE must deliver, in Stripe's list order. */
function expected(seed: Seed, resource: BackfillResource): StripeObject[] {
  return sortNewestFirst(seed[resource].filter((o) => Number(o["created"]) >= SINCE));
}

function objectIds(log: RecordingEventLog, resource: BackfillResource): string[] {
  return log.records
    .map(eventOf)
    .filter((e) => e.type === `${SINGULAR[resource]}.snapshot`)
    .map((e) => String(e.data.object["id"]));
}

async function readState(h: Harness): Promise<BackfillState> {
  return JSON.parse(await readFile(join(h.stateDir, "stripe-backfill.json"), "utf8"));
}

describe.skipIf(!hasStripeFixtures)("backfill against the fake Stripe server", () => {
  let fake: FakeStripe;
  let seed: Seed;
  let harnesses: Harness[];

  beforeEach(async () => {
    fake = await startFakeStripe();
    seed = buildSeed({ perResource: 23, events: 0, newest: NEWEST, spacing: SPACING, eventSpacing: 60 });
    loadSeed(fake, seed);
    harnesses = [];
  });
  afterEach(async () => {
    await fake.close();
    await Promise.all(harnesses.map((h) => h.cleanup()));
  });

  const harness = async (opts: Partial<Parameters<typeof createHarness>[0]> = {}) => {
    const h = await createHarness({ fake, eventLog: createRecordingEventLog(), ...opts });
    harnesses.push(h);
    return h;
  };

  it("appends every object of every resource exactly once as a backfill snapshot", async () => {
    const log = createRecordingEventLog({ delayMs: (n) => (n * 7) % 5 });
    const h = await harness({ eventLog: log });
    const code = await backfillCommand.run(["--since", SINCE_ARG, "--page-size", "5"], h.deps);
    expect(h.err.text()).not.toContain("error");
    expect(code).toBe(0);

    for (const resource of BACKFILL_RESOURCES) {
      const ids = objectIds(log, resource);
      expect(ids, resource).toHaveLength(18);
      expect(new Set(ids), resource).toEqual(new Set(expected(seed, resource).map((o) => o["id"])));
    }
    expect(log.records).toHaveLength(7 * 18);
    for (const record of log.records) {
      const event = eventOf(record);
      expect(event.id).toMatch(/^evt_snapshot_[0-9a-f]{32}$/);
      expect(record.topic).toBe(TEST_TOPICS.testTopic);
      expect(record.envelope).toMatchObject({ source: "backfill", api_version: PINNED_API_VERSION, verified_by: null });
      expect(record.headers["source"]).toBe("backfill");
    }
    // Subscriptions were listed with status=all (canceled ones included), charges with refunds expanded.
    const listed = (path: string) => fake.requests.filter((r) => r.path === path);
    expect(listed("/v1/subscriptions").every((r) => r.params["status"] === "all")).toBe(true);
    expect(objectIds(log, "subscriptions")).toContain("sub_Seed000002");
    expect(listed("/v1/charges")[0]?.params["expand"]).toEqual(["data.refunds"]);
    expect(listed("/v1/customers")[0]?.params).toMatchObject({ limit: "5", created: { gte: String(SINCE) } });
    expect(fake.requests.every((r) => r.stripeVersion === PINNED_API_VERSION)).toBe(true);
    // 18 objects at 5 per page: 4 pages per resource.
    expect(listed("/v1/customers")).toHaveLength(4);

    expect(h.out.text()).toMatch(/^backfill complete: customers=18:done subscriptions=18:done/);
    expect(h.err.text()).toMatch(/^customers: 18, [\d.]+\/s, elapsed \d+:\d\d, done$/m);
    const state = await readState(h);
    expect(state).toMatchObject({ kind: "stripe-backfill", mode: "test", since: SINCE });
    expect(state.resources.customers).toMatchObject({
      done: true,
      count: 18,
      lastId: expected(seed, "customers").at(-1)?.["id"],
    });
  });

  it("converges: a re-run skips finished resources, and a --restart produces the same event ids", async () => {
    const first = createRecordingEventLog();
    const h = await harness({ eventLog: first });
    expect(await backfillCommand.run(["--since", SINCE_ARG], h.deps)).toBe(0);

    const second = createRecordingEventLog();
    const rerun = h.with({ eventLog: second });
    expect(await backfillCommand.run(["--since", SINCE_ARG], rerun.deps)).toBe(0);
    expect(second.records).toHaveLength(0);
    expect(rerun.err.text()).toContain(
      "customers: done in an earlier run (18 objects), skipped; --restart to run again",
    );

    const third = createRecordingEventLog();
    const restart = h.with({ eventLog: third });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--restart"], restart.deps)).toBe(0);
    const ids = (log: RecordingEventLog) => log.records.map((r) => r.envelope.event_id).sort();
    expect(ids(third)).toEqual(ids(first));
    expect(third.records.map((r) => r.envelope.payload).sort()).toEqual(
      first.records.map((r) => r.envelope.payload).sort(),
    );
  });

  it("resumes an interrupted backfill after the cursor, losing nothing and re-reading nothing before it", async () => {
    // Acks arrive out of order; the 41st append and every later one fail.
    const broken = createRecordingEventLog({ failAfter: 40, delayMs: (n) => (n * 13) % 7 });
    const h = await harness({ eventLog: broken });
    const code = await backfillCommand.run(["--since", SINCE_ARG, "--page-size", "5", "--concurrency", "4"], h.deps);
    expect(code).toBe(1);
    expect(h.err.text()).toContain("charges: stopped: the broker did not acknowledge the records (kafka_unavailable)");
    expect(h.err.text()).toContain("run the same command again to resume");
    expect(h.out.text()).toContain("backfill incomplete");
    const interrupted = await readState(h);
    expect(interrupted.resources.customers?.done).toBe(true);
    expect(interrupted.resources.subscriptions?.done).toBe(true);
    const chargesCursor = interrupted.resources.charges;
    expect(chargesCursor).toMatchObject({ done: false, count: 4 });

    const healthy = createRecordingEventLog();
    const resumed = h.with({ eventLog: healthy });
    const firstRequestOfResume = fake.requests.length;
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--page-size", "5"], resumed.deps)).toBe(0);
    expect(objectIds(healthy, "customers")).toEqual([]);
    expect(objectIds(healthy, "subscriptions")).toEqual([]);

    const charges = expected(seed, "charges").map((o) => String(o["id"]));
    const cut = charges.indexOf(chargesCursor?.lastId ?? "");
    expect(cut).toBe(3);
    // Before the cursor: acknowledged in the first run, not read again.
    expect(objectIds(broken, "charges")).toEqual(expect.arrayContaining(charges.slice(0, cut + 1)));
    // After the cursor: every object exactly once in the second run.
    expect(objectIds(healthy, "charges").sort()).toEqual(charges.slice(cut + 1).sort());
    const resumedCharges = fake.requests.slice(firstRequestOfResume).filter((r) => r.path === "/v1/charges");
    expect(resumedCharges[0]?.params["starting_after"]).toBe(charges[cut]);
    for (const resource of ["invoices", "disputes", "products", "prices"] as const) {
      expect(objectIds(healthy, resource)).toHaveLength(18);
    }
    expect((await readState(resumed)).resources.charges).toMatchObject({ done: true, count: 18 });
  });

  it("resumes from the cursor's second when the cursor object was deleted meanwhile", async () => {
    const h = await harness({ eventLog: createRecordingEventLog({ failAfter: 8 }) });
    expect(
      await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers", "--concurrency", "1"], h.deps),
    ).toBe(1);
    const customers = expected(seed, "customers");
    const cursor = customers[7];
    expect((await readState(h)).resources.customers?.lastId).toBe(cursor?.["id"]);
    fake.remove("customers", String(cursor?.["id"]));

    const healthy = createRecordingEventLog();
    const resumed = h.with({ eventLog: healthy });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers"], resumed.deps)).toBe(0);
    expect(resumed.err.text()).toContain(`cursor ${cursor?.["id"]} no longer exists; resuming from its created time`);
    // Everything after the cursor, plus what shares its second (read again: same snapshot id).
    const again = customers
      .slice(0, 7)
      .filter((o) => o["created"] === cursor?.["created"])
      .map((o) => o["id"]);
    expect(again).toHaveLength(1);
    expect(new Set(objectIds(healthy, "customers"))).toEqual(
      new Set([...again, ...customers.slice(8).map((o) => o["id"])]),
    );
  });

  it("retries 429 bursts with exponential backoff and completes", async () => {
    const sleeps: number[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    };
    const log = createRecordingEventLog();
    const h = await harness({ eventLog: log, clock, connection: { random: () => 1 } });
    fake.failNext(3);
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers,prices"], h.deps)).toBe(0);
    expect(objectIds(log, "customers")).toHaveLength(18);
    expect(objectIds(log, "prices")).toHaveLength(18);
    expect(fake.requests.map((r) => r.status)).toEqual([429, 429, 429, 200, 200]);
    // baseBackoffMs 5, doubling, no jitter (random = 1).
    expect(sleeps).toEqual([5, 10, 20]);
    expect(h.deps.stripe.stats).toEqual({ requests: 5, rateLimitRetries: 3 });
  });

  it("does not double-retry a 429: the SDK's own retries stay out even when Stripe says Should-Retry", async () => {
    const h = await harness({ connection: { maxRateLimitRetries: 2, maxNetworkRetries: 3 } });
    fake.failNext(20, { shouldRetry: true, retryAfter: 0 });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers"], h.deps)).toBe(1);
    // One attempt and two transport retries; without the guard the SDK would multiply them by 4.
    expect(fake.requests).toHaveLength(3);
    expect(h.err.text()).toMatch(/customers: stopped: HTTP 429 rate_limit: Too many requests/);
    const state = await readState(h);
    expect(state.resources.customers).toMatchObject({ done: false, count: 0, lastId: null });
  });

  it("keeps the request rate under the configured limit (fake server's arrival times)", async () => {
    await fake.close();
    // The fake enforces a real token bucket a little above the client's limit.
    fake = await startFakeStripe({ rateLimit: { requestsPerSecond: 12, burst: 12 } });
    loadSeed(fake, seed);
    const h = await harness({ connection: { requestsPerSecond: 10 } });
    expect(
      await backfillCommand.run(
        ["--since", SINCE_ARG, "--resources", "customers,charges,prices", "--page-size", "4", "--rate", "10"],
        h.deps,
      ),
    ).toBe(0);
    const times = fake.requests.map((r) => r.at);
    expect(times.length).toBe(15);
    expect(fake.requests.every((r) => r.status === 200)).toBe(true);
    // No 11 requests within one second. The tolerance covers arrival jitter only: a slow machine
    // spreads requests further apart, it never brings them closer.
    for (let i = 0; i + 10 < times.length; i++) {
      expect((times[i + 10] ?? 0) - (times[i] ?? 0)).toBeGreaterThanOrEqual(950);
    }
  });

  it("reports objects that cannot become snapshots and moves past them", async () => {
    fake.add("customers", { id: "cus_broken", object: "customer", created: NEWEST + 5 });
    const log = createRecordingEventLog();
    const h = await harness({ eventLog: log });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers"], h.deps)).toBe(0);
    expect(h.err.text()).toContain("customers: cus_broken skipped: invalid or missing: livemode");
    expect(objectIds(log, "customers")).toHaveLength(18);
    expect(h.out.text()).toContain("customers=18(+1 skipped):done");
    expect((await readState(h)).resources.customers?.count).toBe(19);
  });

  it("refuses to resume with another --since, naming the flag", async () => {
    const h = await harness({ eventLog: createRecordingEventLog({ failAfter: 3 }) });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers"], h.deps)).toBe(1);
    const again = h.with({});
    expect(await backfillCommand.run(["--since", "2020-01-01", "--resources", "customers"], again.deps)).toBe(2);
    expect(again.err.text()).toMatch(
      /--since 2020-01-01T00:00:00Z differs from .* to resume, or --restart to start over/,
    );
  });

  it("refuses a state file of the other mode", async () => {
    const h = await harness({ eventLog: createRecordingEventLog({ failAfter: 3 }) });
    expect(await backfillCommand.run(["--since", SINCE_ARG, "--resources", "customers"], h.deps)).toBe(1);
    const state = await readState(h);
    const { writeAtomically } = await import("./cursor-state.ts");
    await writeAtomically(join(h.stateDir, "stripe-backfill.json"), JSON.stringify({ ...state, mode: "live" }));
    const again = h.with({});
    expect(await backfillCommand.run(["--since", SINCE_ARG], again.deps)).toBe(1);
    expect(again.err.text()).toContain("belongs to live mode but the key is a test key; use another --state");
  });
});
