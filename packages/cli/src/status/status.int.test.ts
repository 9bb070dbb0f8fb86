import { fileURLToPath } from "node:url";
import { decodeEvent, type FoldState, foldAll } from "@sbs/projector/domain";
import { createLogger, migrate } from "@sbs/shared";
import { isolatedSchema, testStack, withClient } from "@sbs/shared/testing";
import { afterAll, describe, expect, it } from "vitest";
import { collectStatus, formatStatus } from "./status.ts";

const stack = testStack();
const env = {
  KAFKA_BROKERS: stack.kafkaBrokers.join(","),
  SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
  DATABASE_URL: stack.databaseUrl,
};
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("pnpm cli status", () => {
  it("reports a stack whose services have not started yet, section by section, without failing", async () => {
    // An empty schema stands for a database where neither projector nor sink has migrated.
    const empty = await isolatedSchema(stack.databaseUrl);
    cleanups.push(empty.drop);
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${empty.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.stack.healthy).toBe(true);
    expect(report.projector).toBeUndefined();
    expect(report.sink).toBeUndefined();
    expect(report.problems.join("\n")).toMatch(/projector: not set up yet[\s\S]*brevo-sink: not set up yet/);
    expect(formatStatus(report)).toContain("healthy");
  });

  it("names an unreachable database instead of throwing", async () => {
    const report = await collectStatus({ ...env, DATABASE_URL: "postgres://postgres@127.0.0.1:1/nope" });
    expect(report.problems.join("\n")).toContain("PostgreSQL not reachable");
  });

  it("counts pending dead letters so the exit code can flag them", async () => {
    const schema = await isolatedSchema(stack.databaseUrl);
    cleanups.push(schema.drop);
    await withClient(stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${schema.schema}`);
      await c.query("CREATE TABLE projection_pointer (generation int)");
      await c.query("INSERT INTO projection_pointer VALUES (1)");
      await c.query(
        "CREATE TABLE customer_metrics (customer_id text, subscription_status text, payment_count int, last_event_at timestamptz, updated_at timestamptz)",
      );
      await c.query(
        "INSERT INTO customer_metrics VALUES ('cus_1', 'active', 3, now(), now()), ('cus_2', null, 0, now(), now())",
      );
      await c.query(
        "CREATE TABLE processed_offset (generation int, topic text, partition int, next_offset bigint, applied_count bigint, dead_lettered_count bigint, updated_at timestamptz)",
      );
      await c.query("CREATE TABLE dead_letter (state text)");
      await c.query("INSERT INTO dead_letter VALUES ('sent'), ('pending')");
    });
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.projector).toMatchObject({
      customers: 2,
      subscribers: 1,
      payments: 3,
      deadLetters: { sent: 1, pending: 1 },
    });
  });

  it("shows a halted partition as halted, with the reason and the fix, never as lag 0, and the mailbox", async () => {
    const schema = await isolatedSchema(stack.databaseUrl);
    cleanups.push(schema.drop);
    const dir = fileURLToPath(new URL("../../../../services/projector/migrations", import.meta.url));
    await migrate({
      url: stack.databaseUrl,
      dir,
      schema: schema.schema,
      logger: createLogger({ service: "status-int", level: "silent" }),
    });
    await withClient(stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${schema.schema}`);
      await c.query(
        "INSERT INTO processed_offset (generation, topic, partition, next_offset) VALUES (1, 'stripe.events.gone', 0, 1000000)",
      );
      await c.query(
        "INSERT INTO partition_halt (generation, topic, partition, reason, detail) VALUES (1, 'stripe.events.gone', 0, 'ahead_of_log', 'stored next offset 1000000 is past the end; rebuild: pnpm cli rebuild')",
      );
      // A refund's customer, asked of its slot: not settled until the slot derived it.
      await c.query("INSERT INTO derive_request (generation, slot, customer_id) VALUES (1, 2, 'cus_refunded')");
    });
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.projector?.partitions[0]?.halted).toMatchObject({ reason: "ahead_of_log" });
    expect(report.problems.join("\n")).toContain("stripe.events.gone[0] HALTED: stored next offset 1000000");
    const text = formatStatus(report);
    expect(text).toContain("1 partition(s) HALTED; lag 0 records, mailbox 1 requests");
    expect(report.projector?.mailbox).toBe(1);
    expect(text).toMatch(/stripe\.events\.gone\[0\] HALTED \(ahead_of_log\) since .*pnpm cli rebuild/);
  });

  it("says how many subscriptions MRR leaves items out of, by reason, from the live generation's facts", async () => {
    const schema = await isolatedSchema(stack.databaseUrl);
    cleanups.push(schema.drop);
    const recurring = (usage: string) => ({ interval: "month", interval_count: 1, usage_type: usage });
    const price = (id: string, fields: Record<string, unknown>) => ({
      id,
      object: "price",
      currency: "usd",
      unit_amount: 1000,
      billing_scheme: "per_unit",
      recurring: recurring("licensed"),
      ...fields,
    });
    const tiered = { unit_amount: null, billing_scheme: "tiered", tiers_mode: "volume" };
    const sub = (id: string, status: string, p: Record<string, unknown>) => ({
      id: `evt_${id}`,
      type: "customer.subscription.updated",
      created: 1_700_000_000,
      data: {
        object: {
          id,
          object: "subscription",
          customer: `cus_${id}`,
          status,
          currency: "usd",
          items: { data: [{ quantity: 1, price: p }] },
        },
      },
    });
    const events = [
      sub("sub_metered", "active", price("price_m", { recurring: recurring("metered") })),
      sub("sub_tiered", "past_due", price("price_t", tiered)),
      sub("sub_tiers_known", "active", price("price_k", tiered)),
      sub("sub_canceled", "canceled", price("price_m", { recurring: recurring("metered") })),
      sub("sub_plain", "active", price("price_p", {})),
      {
        id: "evt_price_k",
        type: "price.snapshot",
        created: 1_699_000_000,
        data: {
          object: price("price_k", { ...tiered, tiers: [{ up_to: null, unit_amount: 500, flat_amount: null }] }),
        },
      },
    ].map((raw) => {
      const decoded = decodeEvent(raw);
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.event;
    });
    const state: FoldState = foldAll(events);
    await withClient(stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${schema.schema}`);
      await c.query("CREATE TABLE projection_pointer (generation int)");
      await c.query("INSERT INTO projection_pointer VALUES (2)");
      await c.query(
        "CREATE TABLE customer_metrics (customer_id text, subscription_status text, payment_count int, last_event_at timestamptz, updated_at timestamptz)",
      );
      await c.query(
        "CREATE TABLE processed_offset (generation int, topic text, partition int, next_offset bigint, applied_count bigint, dead_lettered_count bigint, updated_at timestamptz)",
      );
      await c.query("CREATE TABLE dead_letter (state text)");
      for (const table of ["fact_subscription", "fact_price"]) {
        await c.query(
          `CREATE TABLE ${table} (generation int, id text, fact jsonb, deleted boolean GENERATED ALWAYS AS ((fact #>> '{winner,deleted}')::boolean) STORED)`,
        );
      }
      for (const [id, fact] of state.subscriptions) {
        await c.query("INSERT INTO fact_subscription (generation, id, fact) VALUES (2, $1, $2)", [id, fact]);
        // A retired generation must not count.
        await c.query("INSERT INTO fact_subscription (generation, id, fact) VALUES (1, $1, $2)", [id, fact]);
      }
      for (const [id, fact] of state.prices) {
        await c.query("INSERT INTO fact_price (generation, id, fact) VALUES (2, $1, $2)", [id, fact]);
      }
    });
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.projector?.mrrUnpriced).toEqual({ total: 2, metered: 1, tiersUnknown: 1 });
    expect(formatStatus(report)).toContain(
      "MRR leaves out items of 2 subscriptions (1 metered usage, 1 tiered prices without known tiers",
    );
  });
  it("shows why custom events were not sent, by reason, without Brevo's message", async () => {
    const schema = await isolatedSchema(stack.databaseUrl);
    cleanups.push(schema.drop);
    const logger = createLogger({ service: "status-int", level: "silent" });
    for (const service of ["projector", "brevo-sink"]) {
      const dir = fileURLToPath(new URL(`../../../../services/${service}/migrations`, import.meta.url));
      await migrate({ url: stack.databaseUrl, dir, schema: schema.schema, logger });
    }
    await withClient(stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${schema.schema}`);
      await c.query(
        `INSERT INTO brevo_event_ledger (stripe_event_id, customer_id, event_name, status, detail) VALUES
           ('evt_1', 'cus_1', 'payment_succeeded', 'sent', NULL),
           ('evt_2', 'cus_2', 'payment_succeeded', 'failed', 'no_contact'),
           ('evt_3', 'cus_3', 'payment_succeeded', 'failed', 'no_contact'),
           ('evt_4', 'cus_4', 'payment_succeeded', 'failed', 'HTTP 400 invalid_parameter: contact a@b.example is blocked')`,
      );
    });
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.sink?.eventFailures).toEqual({ no_contact: 2, "HTTP 400 invalid_parameter": 1 });
    const text = formatStatus(report);
    expect(text).toContain("custom events: failed 3 (no_contact 2, HTTP 400 invalid_parameter 1), sent 1");
    expect(text).not.toContain("a@b.example");
  });
});
