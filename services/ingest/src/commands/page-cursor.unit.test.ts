/**
 * A page cursor that does not advance (a proxy or mock that ignores `starting_after`) must stop
 * backfill and catch-up with a clear error instead of looping through the same page for ever.
 */
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../testing/command-harness.ts";
import { type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog } from "../testing/recording-event-log.ts";
import { createListOrderGuard, runBackfill } from "./backfill.ts";
import { runCatchUp } from "./catch-up.ts";

const NOW = Math.floor(Date.now() / 1000);
const customer = (id: string, created: number) => ({ id, object: "customer", created, livemode: false, email: null });
const page = (data: unknown[]) => JSON.stringify({ object: "list", data, has_more: true, url: "/v1/customers" });

describe("createListOrderGuard", () => {
  it.each([
    {
      name: "newest first, ties in one second",
      list: [
        [3, "a"],
        [3, "b"],
        [2, "c"],
        [1, "d"],
        [1, "a"],
      ],
      error: null,
    },
    {
      name: "a page repeated (created goes up)",
      list: [
        [3, "a"],
        [2, "b"],
        [3, "a"],
      ],
      error: /after an object created/,
    },
    {
      name: "a page repeated within one second",
      list: [
        [3, "a"],
        [3, "b"],
        [3, "a"],
      ],
      error: /listed a twice/,
    },
  ] as const)("$name", ({ list, error }) => {
    const guard = createListOrderGuard("customers");
    const run = () => {
      for (const [created, id] of list) guard({ id, created });
    };
    if (error === null) expect(run).not.toThrow();
    else expect(run).toThrow(error);
  });
});

describe("against a server that ignores starting_after", () => {
  let fake: FakeStripe;
  let h: Harness;
  beforeEach(async () => {
    fake = await startFakeStripe();
    h = await createHarness({ fake, eventLog: createRecordingEventLog() });
  });
  afterEach(async () => {
    await fake.close();
    await h.cleanup();
  });

  it.each([
    { name: "objects of distinct seconds", data: [customer("cus_2", NOW - 10), customer("cus_1", NOW - 20)] },
    { name: "a page within one second", data: [customer("cus_2", NOW - 10), customer("cus_1", NOW - 10)] },
  ])("backfill stops with the cursor saved ($name)", async ({ data }) => {
    // Every list request answers the same page with has_more: true.
    fake.failNext(50, { rawBody: page(data), path: "/v1/customers" });
    const log = createRecordingEventLog();
    const result = await runBackfill(
      {
        since: NOW - 86_400,
        resources: ["customers"],
        statePath: join(h.stateDir, "backfill.json"),
        restart: false,
        pageSize: 2,
        concurrency: 1,
        checkpointEvery: 1,
      },
      { ...h.deps, eventLog: log },
    );
    expect(result.ok).toBe(false);
    expect(String((result.error as Error).message)).toMatch(/page cursor did not advance/);
    expect(result.resources.customers).toMatchObject({ status: "failed", appended: 2 });
    // Two requests: the page, and the same page again; no third.
    expect(fake.requests.filter((r) => r.path === "/v1/customers")).toHaveLength(2);
    expect(h.err.text()).toContain("cursor saved");
  });

  it("catch-up stops instead of looping over the same events", async () => {
    const events = [NOW - 10, NOW - 20].map((created, i) => ({
      id: `evt_${i}`,
      object: "event",
      api_version: "2025-03-31.basil",
      created,
      data: { object: customer(`cus_${i}`, created) },
      livemode: false,
      pending_webhooks: 0,
      request: null,
      type: "customer.updated",
    }));
    fake.failNext(50, {
      rawBody: JSON.stringify({ object: "list", data: events, has_more: true, url: "/v1/events" }),
      path: "/v1/events",
    });
    const result = await runCatchUp(
      { statePath: join(h.stateDir, "catch-up.json"), allTypes: true, overlapSeconds: 0, concurrency: 1, pageSize: 2 },
      { ...h.deps, eventLog: createRecordingEventLog() },
    );
    expect(result.ok).toBe(false);
    expect(String((result.error as Error).message)).toMatch(/listed event evt_0 twice/);
    expect(fake.requests.filter((r) => r.path === "/v1/events")).toHaveLength(2);
  });
});
