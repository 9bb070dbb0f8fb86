import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../testing/command-harness.ts";
import { type FakeStripe, type StripeObject, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog, eventOf, type RecordingEventLog } from "../testing/recording-event-log.ts";
import { buildSeed, loadSeed, type Seed } from "../testing/stripe-seed.ts";
import { hasStripeFixtures } from "../testing/stripe-signing.ts";
import { catchUpCommand, EVENT_RETENTION_SECONDS } from "./catch-up.ts";
import { type CatchUpState, writeAtomically } from "./cursor-state.ts";
import { PROJECTOR_EVENT_TYPES } from "./event-types.ts";

const NOW = Math.floor(Date.now() / 1000);
const NEWEST = NOW - 1000;
const DAY = 86_400;
const PROJECTOR_TYPES: ReadonlySet<string> = new Set(PROJECTOR_EVENT_TYPES);

function retained(seed: Seed): { event: StripeObject; deliverySuccess: boolean }[] {
  return seed.events.filter(({ event }) => Number(event["created"]) >= NOW - EVENT_RETENTION_SECONDS);
}

const ids = (log: RecordingEventLog) => log.records.map((r) => r.envelope.event_id);

describe.skipIf(!hasStripeFixtures)("catch-up against the fake Stripe server", () => {
  let fake: FakeStripe;
  let seed: Seed;
  let harnesses: Harness[];

  beforeEach(async () => {
    fake = await startFakeStripe();
    // 80 events, two per day: the older 20 are past Stripe's 30-day retention.
    seed = buildSeed({ perResource: 10, events: 80, newest: NEWEST, spacing: 60, eventSpacing: DAY });
    loadSeed(fake, seed);
    harnesses = [];
  });
  afterEach(async () => {
    await fake.close();
    await Promise.all(harnesses.map((h) => h.cleanup()));
  });

  const harness = async (eventLog: RecordingEventLog) => {
    const h = await createHarness({ fake, eventLog });
    harnesses.push(h);
    return h;
  };

  const readState = async (h: Harness): Promise<CatchUpState> =>
    JSON.parse(await readFile(join(h.stateDir, "stripe-catch-up.json"), "utf8"));

  it("reads 30 days across several pages and appends the projector's events oldest first", async () => {
    const log = createRecordingEventLog();
    const h = await harness(log);
    expect(await catchUpCommand.run(["--page-size", "7", "--concurrency", "1"], h.deps)).toBe(0);

    const wanted = retained(seed).filter(({ event }) => PROJECTOR_TYPES.has(String(event["type"])));
    expect(wanted.length).toBeGreaterThan(40);
    expect(new Set(ids(log))).toEqual(new Set(wanted.map(({ event }) => event["id"])));
    expect(ids(log)).toHaveLength(wanted.length);
    const created = log.records.map((r) => r.envelope.created);
    expect(created).toEqual([...created].sort((a, b) => a - b));

    const first = log.records[0];
    const original = seed.events.find(({ event }) => event["id"] === first?.envelope.event_id)?.event;
    expect(first?.envelope).toMatchObject({ source: "catch-up", verified_by: null });
    expect(first?.headers["source"]).toBe("catch-up");
    expect(JSON.parse(first?.envelope.payload ?? "")).toEqual(original);

    // Types go 20 per request at most, each group paginated on its own, newest first.
    const requests = fake.requests.filter((r) => r.path === "/v1/events");
    expect(requests.length).toBeGreaterThan(4);
    for (const r of requests) {
      expect((r.params["types"] as string[]).length).toBeLessThanOrEqual(20);
      expect(r.params).not.toHaveProperty("created");
    }
    expect(new Set(requests.flatMap((r) => r.params["types"] as string[]))).toEqual(PROJECTOR_TYPES);

    expect(await readState(h)).toMatchObject({ kind: "stripe-catch-up", mode: "test", createdGt: NEWEST });
    expect(h.out.text()).toContain(
      `catch-up complete: ${wanted.length} events (last 30 days), ${wanted.length} appended`,
    );
    expect(h.err.text()).toMatch(new RegExp(`events appended: ${wanted.length}/${wanted.length}, [\\d.]+/s, elapsed`));
  });

  it("continues after the created[gt] cursor on the next run", async () => {
    const h = await harness(createRecordingEventLog());
    expect(await catchUpCommand.run([], h.deps)).toBe(0);
    const cursor = (await readState(h)).createdGt;

    const later = (id: string, created: number, type = "customer.updated") => ({
      id,
      object: "event",
      api_version: "2025-03-31.basil",
      created,
      data: { object: seed.customers[0] },
      livemode: false,
      pending_webhooks: 1,
      request: { id: "req_later", idempotency_key: null },
      type,
    });
    fake.addEvent(later("evt_later_1", cursor + 5));
    fake.addEvent(later("evt_later_2", cursor + 9, "charge.refunded"));
    fake.addEvent(later("evt_at_cursor", cursor));

    const log = createRecordingEventLog();
    const next = h.with({ eventLog: log });
    expect(await catchUpCommand.run(["--overlap", "0"], next.deps)).toBe(0);
    const requests = fake.requests.filter((r) => r.path === "/v1/events").slice(-2);
    for (const r of requests) expect(r.params["created"]).toEqual({ gt: String(cursor) });
    expect(ids(log)).toEqual(["evt_later_1", "evt_later_2"]);
    expect((await readState(next)).createdGt).toBe(cursor + 9);

    // The default overlap re-reads the last minute; re-appending is harmless downstream.
    const overlapLog = createRecordingEventLog();
    expect(await catchUpCommand.run([], h.with({ eventLog: overlapLog }).deps)).toBe(0);
    expect(fake.requests.at(-1)?.params["created"]).toEqual({ gt: String(cursor + 9 - 60) });
    const inOverlap = seed.events
      .filter(({ event }) => Number(event["created"]) > cursor + 9 - 60 && PROJECTOR_TYPES.has(String(event["type"])))
      .map(({ event }) => event["id"]);
    expect(inOverlap.length).toBeGreaterThan(0);
    expect(new Set(ids(overlapLog))).toEqual(new Set([...inOverlap, "evt_later_1", "evt_later_2", "evt_at_cursor"]));
  });

  it("with --delivery-success false, appends only the events whose delivery failed", async () => {
    const log = createRecordingEventLog();
    const h = await harness(log);
    expect(await catchUpCommand.run(["--delivery-success", "false"], h.deps)).toBe(0);
    const failed = retained(seed).filter(
      ({ event, deliverySuccess }) => !deliverySuccess && PROJECTOR_TYPES.has(String(event["type"])),
    );
    expect(failed.length).toBeGreaterThan(5);
    expect(new Set(ids(log))).toEqual(new Set(failed.map(({ event }) => event["id"])));
    expect(fake.requests.every((r) => r.params["delivery_success"] === "false")).toBe(true);
  });

  it("with --all-types, reads every type and reports the events that cannot be keyed", async () => {
    const log = createRecordingEventLog();
    const h = await harness(log);
    expect(await catchUpCommand.run(["--all-types"], h.deps)).toBe(0);
    expect(fake.requests.every((r) => r.params["types"] === undefined)).toBe(true);
    const types = new Set(log.records.map((r) => r.envelope.type));
    expect(types.has("payment_intent.created")).toBe(true);
    // An invoice preview has no id but a customer: stored under the customer's key (issue #20).
    expect(types.has("invoice.upcoming")).toBe(true);
    expect(h.err.text()).toMatch(
      /catch-up: evt_Seed\d+ \(balance\.available\) skipped: no data\.object\.id to key it by/,
    );
    const unkeyed = retained(seed).filter(({ event }) =>
      ["setup_intent.created", "balance.available"].includes(String(event["type"])),
    );
    expect(log.records).toHaveLength(retained(seed).length - unkeyed.length);
  });

  it("after a failed append, keeps the cursor before the first unacknowledged event and resumes from it", async () => {
    const broken = createRecordingEventLog({ failAfter: 11 });
    const h = await harness(broken);
    expect(await catchUpCommand.run(["--concurrency", "1"], h.deps)).toBe(1);
    expect(h.err.text()).toContain("catch-up: stopped: the broker did not acknowledge the records (kafka_unavailable)");
    const acked = broken.records.map(eventOf);
    expect(acked).toHaveLength(11);
    const cursor = (await readState(h)).createdGt;
    expect(cursor).toBeGreaterThanOrEqual(acked[9]?.created ?? Number.NaN);
    expect(cursor).toBeLessThan(acked[10]?.created ?? Number.NaN);

    const healthy = createRecordingEventLog();
    expect(await catchUpCommand.run(["--overlap", "0"], h.with({ eventLog: healthy }).deps)).toBe(0);
    const wanted = retained(seed).filter(({ event }) => PROJECTOR_TYPES.has(String(event["type"])));
    expect(new Set([...ids(broken), ...ids(healthy)])).toEqual(new Set(wanted.map(({ event }) => event["id"])));
    // Nothing at or before the cursor was read again.
    expect(healthy.records.every((r) => r.envelope.created > cursor)).toBe(true);
  });

  it("warns when the cursor is older than Stripe keeps events", async () => {
    const h = await harness(createRecordingEventLog());
    const stale: CatchUpState = {
      kind: "stripe-catch-up",
      version: 1,
      mode: "test",
      createdGt: NOW - 45 * DAY,
      updatedAt: new Date().toISOString(),
    };
    await writeAtomically(join(h.stateDir, "stripe-catch-up.json"), JSON.stringify(stale));
    expect(await catchUpCommand.run([], h.deps)).toBe(0);
    expect(h.err.text()).toMatch(
      /warning: the cursor .* is older than Stripe's 30-day event retention; .* run backfill/,
    );
  });

  it("leaves the cursor alone when listing fails", async () => {
    const h = await harness(createRecordingEventLog());
    fake.failNext(50, { status: 500 });
    expect(await catchUpCommand.run([], h.deps)).toBe(1);
    expect(h.err.text()).toContain("catch-up: listing events failed: HTTP 500");
    await expect(readFile(join(h.stateDir, "stripe-catch-up.json"))).rejects.toThrow(/ENOENT/);
  });
});
