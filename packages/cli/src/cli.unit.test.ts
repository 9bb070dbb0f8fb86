import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** Runs the real `pnpm cli` binary, as a user would, and returns what it printed. */
const BIN = fileURLToPath(new URL("../bin/cli.js", import.meta.url));
function cli(args: string[], input?: string) {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, STRIPE_API_KEY: "" },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

const event = (id: string, type: string, created: number, object: Record<string, unknown>) =>
  JSON.stringify({
    id,
    object: "event",
    type,
    created,
    livemode: false,
    api_version: "2025-03-31.basil",
    data: { object },
  });
const charge = (id: string, customer: string, currency: string, amount: number, refunded = 0) => ({
  id,
  object: "charge",
  customer,
  amount,
  amount_captured: amount,
  amount_refunded: refunded,
  captured: true,
  currency,
  status: "succeeded",
  created: 1_700_000_100,
  paid: true,
});
const history = [
  event("evt_2", "charge.succeeded", 1_700_000_100, charge("ch_1", "cus_B", "usd", 5500)),
  event("evt_1", "customer.created", 1_700_000_000, {
    id: "cus_B",
    object: "customer",
    created: 1_700_000_000,
    email: "b@example.com",
  }),
  "{ not json",
  event("evt_3", "charge.succeeded", 1_700_000_300, charge("ch_2", "cus_A", "jpy", 1200)),
  event("evt_4", "product.created", 1_700_000_400, { id: "prod_1", object: "product", name: "Pro" }),
].join("\n");

// Each case starts the real binary (tsx compiles on the fly, ~1 s each on a loaded 2-core machine).
describe("pnpm cli fold", { timeout: 30_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-fold-"));
  const file = join(dir, "events.ndjson");
  writeFileSync(file, history);

  it("prints one row per customer, sorted, money in minor units, and reports the bad line by number", () => {
    const run = cli(["fold", file]);
    expect(run.code).toBe(0);
    const rows = run.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r["customer_id"])).toEqual(["cus_A", "cus_B"]);
    expect(rows[0]).toMatchObject({ total_spent: { jpy: 1200 }, payment_count: 1, email: null });
    expect(rows[1]).toMatchObject({
      total_spent: { usd: 5500 },
      email: "b@example.com",
      mrr: {},
      last_payment_at: "2023-11-14T22:15:00.000Z",
    });
    expect(run.stderr).toContain("line 3:");
  });

  it("reads stdin with -, and --strict turns a skipped line into exit 1", () => {
    const run = cli(["fold", "-", "--strict"], history);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split("\n")).toHaveLength(2);
  });

  it("answers usage errors with exit 2 and a missing file with exit 1", () => {
    expect(cli(["fold"]).code).toBe(2);
    expect(cli(["fold", "a", "b"]).code).toBe(2);
    expect(cli(["nonsense"]).code).toBe(2);
    const missing = cli(["fold", join(dir, "missing.ndjson")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read");
  });

  it("fold --mrr-rules picks the MRR definition; an unknown one is a usage error", () => {
    const sub = event("evt_s", "customer.subscription.updated", 1_700_000_500, {
      id: "sub_1",
      object: "subscription",
      customer: "cus_A",
      status: "active",
      currency: "usd",
      cancel_at_period_end: true,
      items: {
        data: [
          { quantity: 1, price: { id: "p", currency: "usd", unit_amount: 1000, recurring: { interval: "month" } } },
        ],
      },
    });
    expect(JSON.parse(cli(["fold", "-"], sub).stdout).mrr).toEqual({});
    expect(JSON.parse(cli(["fold", "-", "--mrr-rules", "profitwell"], sub).stdout).mrr).toEqual({ usd: 1000 });
    const bad = cli(["fold", "-", "--mrr-rules", "nope"], sub);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--mrr-rules: expected one of stripe, chartmogul, paddle, profitwell");
  });

  it("lists every command in --help", () => {
    const run = cli(["--help"]);
    expect(run.code).toBe(0);
    for (const name of [
      "demo",
      "fold",
      "backfill",
      "catch-up",
      "setup-webhook",
      "test-connection",
      "rebuild",
      "plan",
      "resync",
    ])
      expect(run.stdout).toContain(name);
  });

  it("names the missing Stripe key instead of calling Stripe", () => {
    const run = cli(["test-connection"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("STRIPE_API_KEY");
  });
});
