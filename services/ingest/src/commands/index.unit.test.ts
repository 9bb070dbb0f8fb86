import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, type Harness } from "../testing/command-harness.ts";
import { type FakeStripe, startFakeStripe } from "../testing/fake-stripe.ts";
import { createRecordingEventLog } from "../testing/recording-event-log.ts";
import { commands } from "./index.ts";

describe("the Stripe command map", () => {
  let fake: FakeStripe;
  let h: Harness;
  beforeAll(async () => {
    fake = await startFakeStripe();
    h = await createHarness({ fake, eventLog: createRecordingEventLog() });
  });
  afterAll(async () => {
    await fake.close();
    await h.cleanup();
  });

  it.each(Object.entries(commands))(
    "%s --help prints its usage and exits 0 without calling Stripe",
    async (name, command) => {
      const run = h.with({});
      expect(command.summary.length).toBeGreaterThan(10);
      expect(await command.run(["--help"], run.deps)).toBe(0);
      expect(run.out.text()).toBe(`${command.usage.trimEnd()}\n`);
      expect(run.out.text()).toMatch(new RegExp(`^Usage: ${name}`));
      expect(fake.requests).toHaveLength(0);
    },
  );

  it.each([
    ["backfill", [], /--since is required/],
    ["backfill", ["--since", "last week"], /--since: expected a date as YYYY-MM-DD or an ISO 8601 timestamp/],
    ["backfill", ["--since", "2099-01-01"], /--since 2099-01-01 is in the future/],
    [
      "backfill",
      ["--since", "2024-01-01", "--resources", "customers,refunds"],
      /--resources: unknown resource "refunds"/,
    ],
    ["backfill", ["--since", "2024-01-01", "--rate", "0"], /--rate: expected a positive number/],
    ["backfill", ["--since", "2024-01-01", "--page-size", "500"], /--page-size: expected an integer from 1 to 100/],
    ["backfill", ["--since"], /--since/],
    ["backfill", ["--sinse", "2024-01-01"], /Unknown option '--sinse'/],
    ["catch-up", ["--delivery-success", "true"], /--delivery-success: only "false" is supported/],
    ["catch-up", ["--overlap", "-5"], /--overlap/],
    ["catch-up", ["extra"], /Unexpected argument 'extra'/],
    ["setup-webhook", ["--url"], /--url/],
  ] as const)("%s %j exits 2 naming the flag", async (name, argv, message) => {
    const run = h.with({});
    expect(await commands[name].run(argv, run.deps)).toBe(2);
    expect(run.err.text()).toMatch(message);
    expect(run.err.text()).toContain(`Usage: ${name}`);
    expect(fake.requests).toHaveLength(0);
  });
});
