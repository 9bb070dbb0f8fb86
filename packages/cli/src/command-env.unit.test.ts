import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commandEnv, parseEnvFile } from "./command-env.ts";
import { DEFAULT_SINK_CONFIG } from "./start/pipeline-files.ts";

const stateDir = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), "sbs-command-env-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

const STACK_FILE =
  "export KAFKA_BROKERS=127.0.0.1:9092\nexport DATABASE_URL=postgres://x@h/db\n# comment\n\nKAFKA_SINGLE_NODE=true\n";

describe("parseEnvFile", () => {
  it("reads export lines, plain assignments and quoted values; skips blanks and comments", () => {
    expect(parseEnvFile(`${STACK_FILE}QUOTED="a b"\n`, "env")).toEqual({
      KAFKA_BROKERS: "127.0.0.1:9092",
      DATABASE_URL: "postgres://x@h/db",
      KAFKA_SINGLE_NODE: "true",
      QUOTED: "a b",
    });
  });

  it("names the file and line of anything else", () => {
    expect(() => parseEnvFile("export A=1\nrm -rf /\n", ".stack/env")).toThrow(
      '.stack/env:2: expected KEY=value, got "rm -rf /"',
    );
  });
});

describe("commandEnv", () => {
  it("fills a stack-less environment from the local stack's env file", () => {
    const env = commandEnv({ STACK_STATE_DIR: stateDir({ env: STACK_FILE }) });
    expect(env["DATABASE_URL"]).toBe("postgres://x@h/db");
    expect(env["KAFKA_SINGLE_NODE"]).toBe("true");
    expect(env["SINK_CONFIG_FILE"]).toBe(DEFAULT_SINK_CONFIG);
  });

  it("never mixes: an environment naming any stack variable keeps its own stack", () => {
    const env = commandEnv({ STACK_STATE_DIR: stateDir({ env: STACK_FILE }), DATABASE_URL: "postgres://mine/db" });
    expect(env["DATABASE_URL"]).toBe("postgres://mine/db");
    expect(env["KAFKA_BROKERS"]).toBeUndefined();
  });

  it("keeps what the environment sets, and works with no stack at all", () => {
    const env = commandEnv({ STACK_STATE_DIR: stateDir({}), SINK_CONFIG_FILE: "mine.yaml" });
    expect(env["SINK_CONFIG_FILE"]).toBe("mine.yaml");
    expect(env["DATABASE_URL"]).toBeUndefined();
  });

  it("takes the fake Brevo of a running `pnpm start`, never over a real key", () => {
    const pipeline = JSON.stringify({ brevo: { fake: true, url: "http://127.0.0.1:5555/v3", apiKey: "fake-key" } });
    const dir = stateDir({ "pipeline.json": pipeline });
    expect(commandEnv({ STACK_STATE_DIR: dir })).toMatchObject({
      BREVO_API_KEY: "fake-key",
      BREVO_BASE_URL: "http://127.0.0.1:5555/v3",
    });
    const real = commandEnv({ STACK_STATE_DIR: dir, BREVO_API_KEY: "xkeysib-real" });
    expect(real["BREVO_API_KEY"]).toBe("xkeysib-real");
    expect(real["BREVO_BASE_URL"]).toBeUndefined();
  });
});
