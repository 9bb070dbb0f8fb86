import { join } from "node:path";
import { loadSinkConfigFile } from "@sbs/brevo-sink/config-file";
import type { FakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { brevoDiffersFromDesired, eventsSentTwice } from "@sbs/brevo-sink/testing/oracle";
import { commands as projectorCommands } from "@sbs/projector/commands";
import { decodeEvent, foldAll, readModels } from "@sbs/projector/domain";
import { testStack, waitFor, withClient } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliver } from "../demo/deliver.ts";
import { generateHistory, type StripeEventObject } from "../demo/history.ts";
import { showPipeline } from "../demo/show-pipeline.ts";
import { REPO_ROOT } from "../start/services.ts";
import { type PipelineWorld, startPipelineWorld } from "./pipeline-world.ts";

/**
 * The whole pipeline as it runs in production: ingest, projector and brevo-sink as three
 * processes on the real Kafka, registry and PostgreSQL, with the fake Brevo. Signed events go in at
 * the webhook the way Stripe sends them (out of order, duplicated); Brevo's state must come out
 * equal to the desired state of every customer, where "desired" is computed independently from the
 * delivered events with the pure fold (oracle C over oracle D). Replaying the topic from offset 0
 * (a projector rebuild) must then change nothing in Brevo.
 */

const stack = testStack();
let world: PipelineWorld;
let fake: FakeBrevo;
let schema: { schema: string };
let projectorEnv: Record<string, string | undefined>;
let webhookUrl = "";
let SECRET = "";
let events: StripeEventObject[] = [];

beforeAll(async () => {
  world = await startPipelineWorld("e2e");
  ({ fake, projectorEnv, webhookUrl } = world);
  schema = { schema: world.schema };
  SECRET = world.secret;
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

async function projectedCustomers(): Promise<number> {
  return withClient(stack.databaseUrl, async (c) => {
    const { rows } = await c.query(`SELECT count(*) AS n FROM ${schema.schema}.customer_metrics`);
    return Number(rows[0]?.n ?? 0);
  }).catch(() => -1);
}

describe(`the pipeline end to end (Kafka ${stack.versions.kafka}, ${stack.versions.registry}, PostgreSQL ${stack.versions.postgres})`, () => {
  it("turns signed webhooks into Brevo contacts equal to the desired state of every customer", async () => {
    events = generateHistory({
      customers: 60,
      days: 150,
      seed: 42,
      start: Math.floor(Date.now() / 1000) - 150 * 86_400,
    });
    const report = await deliver(events, {
      url: webhookUrl,
      secret: SECRET,
      concurrency: 8,
      duplicateRate: 0.05,
      reorderWindow: 20,
      maxAttempts: 8,
      seed: 42,
    });
    expect(report.failed).toEqual([]);

    // Ground truth from the delivered events alone, not from anything the pipeline wrote.
    const decoded = events.map((e) => decodeEvent(e)).flatMap((r) => (r.ok ? [r.event] : []));
    expect(decoded).toHaveLength(events.length);
    const expected = readModels(foldAll(decoded));
    const config = await loadSinkConfigFile(join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"));

    await waitFor(
      "the projector to project every customer",
      async () => ((await projectedCustomers()) === expected.length ? true : undefined),
      90_000,
    );
    let problems: string[] = [];
    await waitFor(
      "Brevo to equal the desired state",
      async () => {
        problems = brevoDiffersFromDesired(fake, config, expected);
        return problems.length === 0 ? true : undefined;
      },
      90_000,
    ).catch(() => {
      throw new Error(`Brevo differs from the desired state:\n${problems.slice(0, 20).join("\n")}`);
    });
    expect(eventsSentTwice(fake)).toEqual([]);
    expect(fake.contacts.size).toBeGreaterThan(0);
  }, 240_000);

  it("lets `pnpm demo` wait for the settled pipeline and say why customers have no contact", async () => {
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const env = { ...projectorEnv, DATABASE_URL: url.toString() };
    const err: string[] = [];
    const text = await showPipeline(
      {
        webhookUrl,
        secret: SECRET,
        databaseUrl: url.toString(),
        brevo: { url: fake.url, fake: true, apiKey: fake.apiKey },
      },
      60,
      { err: (t) => err.push(t), env, isTTY: false },
    );
    expect(err.join("")).toContain("the pipeline settled: 60 customers projected");
    expect(err.join("")).not.toContain("\r");
    const models = readModels(foldAll(events.map((e) => decodeEvent(e)).flatMap((r) => (r.ok ? [r.event] : []))));
    const noEmail = models.filter((m) => m.email === null && !m.deleted).length;
    const contacts = [...fake.contacts.values()].length;
    expect(text).toContain(`${models.length} customers projected, ${contacts} contacts in Brevo`);
    if (noEmail > 0) expect(text).toMatch(new RegExp(`${noEmail} customers? ha(s|ve) no email: not pushed`));
    // Every listed customer gets a Brevo line: its contact, or that it has none.
    expect(text.split("contacts of those customers:")[1]?.trim().split("\n").slice(0, 10)).toHaveLength(10);
  }, 240_000);

  it("changes nothing in Brevo when the topic is replayed from offset 0", async () => {
    const writes = () => fake.log.filter((e) => e.method !== "GET").length;
    const before = writes();
    const out: string[] = [];
    const code = await projectorCommands.rebuild.run([], {
      env: projectorEnv,
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => out.push(t) },
    });
    expect(code, out.join("")).toBe(0);
    // Several sink passes (every 500 ms) over the rebuilt generation.
    await new Promise((r) => setTimeout(r, 5000));
    expect(writes()).toBe(before);
    expect(eventsSentTwice(fake)).toEqual([]);
  }, 180_000);
});
