import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, migrate } from "@sbs/shared";
import { isolatedSchema, testStack, withClient } from "@sbs/shared/testing";
import { afterAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/cli.js", import.meta.url));
const MIGRATIONS = ["../../../services/projector/migrations", "../../../services/brevo-sink/migrations"].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);
const stack = testStack();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A shell where nothing names the stack: only what `pnpm stack:up` left in its state directory. */
function freshShell(stateDir: string, schema: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STACK_STATE_DIR: stateDir, DATABASE_SCHEMA: schema };
  for (const name of ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL", "SINK_CONFIG_FILE", "BREVO_API_KEY"])
    delete env[name];
  return env;
}

describe("pnpm cli plan from a fresh shell", () => {
  it("finds the local stack and the sink config `pnpm start` uses, with nothing exported", async () => {
    const { schema, drop } = await isolatedSchema(stack.databaseUrl);
    cleanups.push(drop);
    const logger = createLogger({ service: "command-env-int", level: "silent" });
    for (const dir of MIGRATIONS) await migrate({ url: stack.databaseUrl, dir, schema, logger });
    await withClient(stack.databaseUrl, (c) =>
      c.query(
        `INSERT INTO ${schema}.customer_projection (generation, customer_id, email, deleted, metadata, payment_count,
           total_spent, average_order_value, failed_payment_count, refunded_total, dispute_count, mrr, churned)
         SELECT generation, 'cus_plan', 'plan@example.com', false, '{}', 0, '{}', '{}', 0, '{}', 0, '{}', false
         FROM ${schema}.projection_pointer`,
      ),
    );
    const stateDir = mkdtempSync(join(tmpdir(), "sbs-fresh-shell-"));

    // Without the stack's env file it cannot know where the database is, and says so.
    const lost = spawnSync(process.execPath, [BIN, "plan", "--json"], {
      env: freshShell(stateDir, schema),
      encoding: "utf8",
    });
    expect(lost.status).toBe(1);
    expect(lost.stderr).toContain("DATABASE_URL is required");

    writeFileSync(
      join(stateDir, "env"),
      [
        `export KAFKA_BROKERS=${stack.kafkaBrokers.join(",")}`,
        `export SCHEMA_REGISTRY_URL=${stack.schemaRegistryUrl}`,
        `export DATABASE_URL=${stack.databaseUrl}`,
      ].join("\n"),
    );
    const run = spawnSync(process.execPath, [BIN, "plan", "--json"], {
      env: freshShell(stateDir, schema),
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ customers: 1, create: 1 });

    // resync --dry-run is the same plan, as text: nothing is sent (no Brevo is configured at all).
    const dry = spawnSync(process.execPath, [BIN, "resync", "--dry-run"], {
      env: freshShell(stateDir, schema),
      encoding: "utf8",
    });
    expect(dry.stderr).toBe("");
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain("contacts to create: 1");
  });
});
