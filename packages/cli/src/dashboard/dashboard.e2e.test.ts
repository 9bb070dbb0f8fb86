import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { testStack, waitFor, withClient } from "@sbs/shared/testing";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver } from "../demo/deliver.ts";
import { generateHistory } from "../demo/history.ts";
import { type PipelineWorld, startPipelineWorld } from "../e2e/pipeline-world.ts";
import { REPO_ROOT } from "../start/services.ts";
import { type RunningDashboard, startDashboard } from "./command.ts";

/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core; `.ci/run`
 * installs it) over the running pipeline with demo data, a dead letter and a halted partition.
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[dashboard e2e] skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

const stack = testStack();
let world: PipelineWorld;
let dashboard: RunningDashboard;
let browser: Browser;

describe.skipIf(!hasChromium)("the dashboard in headless Chromium", () => {
  beforeAll(async () => {
    world = await startPipelineWorld("dash");
    const events = generateHistory({
      customers: 25,
      days: 90,
      seed: 7,
      start: Math.floor(Date.now() / 1000) - 90 * 86_400,
    });
    const report = await deliver(events, {
      url: world.webhookUrl,
      secret: world.secret,
      concurrency: 8,
      duplicateRate: 0,
      reorderWindow: 10,
      maxAttempts: 8,
      seed: 7,
    });
    expect(report.failed).toEqual([]);
    await waitFor(
      "25 customers projected",
      async () =>
        withClient(stack.databaseUrl, async (c) => {
          const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${world.schema}.customer_metrics`);
          return rows[0]?.n === 25 ? true : undefined;
        }).catch(() => undefined),
      120_000,
    );
    // A dead letter and a halted partition, as an operator would meet them.
    await withClient(stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${world.schema}`);
      await c.query(
        `INSERT INTO dead_letter (topic, partition, "offset", state, dlq_topic, dlq_partition, dlq_search_from, error_class, reason, attempts)
         VALUES ($1, 0, 4242, 'sent', $1 || '.dlq', 0, 0, 'invalid_envelope', 'not a Stripe event: missing id', 3)`,
        [world.topic],
      );
      await c.query(
        `INSERT INTO partition_halt (generation, topic, partition, reason, detail)
         SELECT generation, $1, 2, 'below_log_start', 'offsets 10..19 were deleted; pnpm cli accept-gap --partition 2' FROM projection_pointer`,
        [world.topic],
      );
    });
    dashboard = await startDashboard({
      env: {
        ...world.projectorEnv,
        DATABASE_URL: world.databaseUrl,
        SINK_CONFIG_FILE: join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"),
      },
      port: 0,
      intervalMs: 500,
      targets: [
        { name: "ingest", url: world.metrics.ingest },
        { name: "projector", url: world.metrics.projector },
        { name: "brevo-sink", url: world.metrics.sink },
      ],
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await world?.stop();
  });

  it("shows every panel's figures, draws the charts, and logs no console error", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    const customers = await withClient(stack.databaseUrl, async (c) => {
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM ${world.schema}.customer_metrics`);
      return rows[0]?.n as number;
    });
    // Samples first (a loaded machine can miss one), so the panels and charts have figures.
    await waitFor(
      "the dashboard to have sampled the projection",
      async () => {
        const saas = (await (await fetch(new URL("/api/saas", dashboard.url))).json()) as { customers: number | null };
        const points = (await (await fetch(new URL("/api/throughput", dashboard.url))).json()) as { times: number[] };
        const health = (await (await fetch(new URL("/api/health", dashboard.url))).json()) as {
          components: { name: string; up: boolean }[];
        };
        // Every service answers its /metrics (the sink's port opens after its Kafka consumer joined).
        const allUp = health.components.every((c) => c.up);
        return saas.customers === customers && points.times.length >= 3 && allUp ? true : undefined;
      },
      90_000,
    );
    await page.goto(dashboard.url);
    expect(await page.textContent("#customers")).toBe(String(customers));
    const health = (await page.textContent("#health")) ?? "";
    expect(health).toContain("ingest");
    expect(health).toMatch(/brevo-sink\s*up\s*node [^,]+, (leader|standby)/);
    expect(await page.textContent("#halted")).toContain("below_log_start");
    expect(await page.textContent("#overall")).toBe("NOT healthy");
    const problemsText = (await page.textContent("#problems")) ?? "";
    expect(problemsText).toContain(`${world.topic}[0]@4242`);
    expect(problemsText).toContain(`pnpm cli redrive --topic ${world.topic} --dry-run`);
    expect(await page.textContent("#plan")).toMatch(/customers.*create/s);
    expect(await page.textContent("#saas")).toMatch(/MRR now, per currency/);

    // uPlot draws into a canvas once the API answered.
    await page.waitForSelector("#chart-rates canvas", { timeout: 15_000 });
    await page.waitForSelector("#chart-lag canvas", { timeout: 15_000 });
    const drawn = await page.$eval("#chart-lag canvas", (c) => (c as unknown as { width: number }).width > 0);
    expect(drawn).toBe(true);

    // The JSON behind the panels says the same.
    const api = (await (await fetch(new URL("/api/health", dashboard.url))).json()) as {
      halted: { partition: string; reason: string }[];
    };
    expect(api.halted[0]).toMatchObject({ partition: `${world.topic}[2]`, reason: "below_log_start" });

    // Keyboard: the links are reachable by Tab.
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement && document.activeElement.tagName")).toBe("A");

    mkdirSync(join(REPO_ROOT, ".stack"), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, ".stack", "dashboard.png"), fullPage: true });
    expect(problems).toEqual([]);
  }, 120_000);

  it("requires its token when it listens beyond loopback", async () => {
    const exposed = await startDashboard({ env: world.projectorEnv, host: "0.0.0.0", port: 0, targets: [] });
    try {
      const base = new URL(exposed.url);
      const token = base.searchParams.get("token");
      expect(token).toBeTruthy();
      const local = `http://127.0.0.1:${base.port}`;
      expect((await fetch(`${local}/api/health`)).status).toBe(401);
      expect((await fetch(`${local}/api/health?token=wrong`)).status).toBe(401);
      const ok = await fetch(`${local}/api/health`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
    } finally {
      await exposed.close();
    }
  });
});
