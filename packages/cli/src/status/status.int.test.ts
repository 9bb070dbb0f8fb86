import { fileURLToPath } from "node:url";
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

  it("shows a halted partition as halted, with the reason and the fix, never as lag 0", async () => {
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
    });
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema.schema}`);
    const report = await collectStatus({ ...env, DATABASE_URL: url.toString() });
    expect(report.projector?.partitions[0]?.halted).toMatchObject({ reason: "ahead_of_log" });
    expect(report.problems.join("\n")).toContain("stripe.events.gone[0] HALTED: stored next offset 1000000");
    const text = formatStatus(report);
    expect(text).toContain("1 partition(s) HALTED; lag 0 records");
    expect(text).toMatch(/stripe\.events\.gone\[0\] HALTED \(ahead_of_log\) since .*pnpm cli rebuild/);
  });
});
