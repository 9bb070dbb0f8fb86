import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./services.ts";

const stack = testStack();
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("pnpm start", () => {
  it("stops cleanly on Ctrl-C: exit 0, says stopped, no ELIFECYCLE from pnpm", async () => {
    const { schema, drop } = await isolatedSchema(stack.databaseUrl);
    cleanups.push(drop);
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("options", `-c search_path=${schema}`);
    // Its own process group, as a terminal's foreground job: Ctrl-C signals pnpm and the CLI alike.
    const child = spawn("pnpm", ["start"], {
      cwd: REPO_ROOT,
      detached: true,
      env: {
        ...process.env,
        KAFKA_BROKERS: stack.kafkaBrokers.join(","),
        SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
        DATABASE_URL: url.toString(),
        DATABASE_SCHEMA: schema,
        STACK_STATE_DIR: mkdtempSync(join(tmpdir(), "sbs-start-")),
        LOG_LEVEL: "warn",
        KAFKA_TOPIC_TEST: `start-e2e-${schema}`,
        KAFKA_TOPIC: `start-e2e-${schema}`,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const deadline = Date.now() + 90_000;
    while (!output.includes("the pipeline is running") && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 250));
    expect(output).toContain("the pipeline is running");
    process.kill(-(child.pid as number), "SIGINT");
    const code = await exited;
    expect(output).toContain("[pipeline] stopped");
    expect(output).not.toContain("ELIFECYCLE");
    expect(code).toBe(0);
  }, 150_000);
});
