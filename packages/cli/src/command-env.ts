import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { stateDir } from "@sbs/infra/paths";
import { DEFAULT_SINK_CONFIG, type PipelineInfo, pipelineFile } from "./start/pipeline-files.ts";

type Env = Record<string, string | undefined>;

/** The variables that name a stack: all three come from the same place, never a mix. */
const STACK_VARS = ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL"] as const;

/**
 * Parses the stack's env file (`export KEY=value` lines, as `pnpm stack:up` writes it). A line
 * that is neither blank, a comment nor an assignment is an error naming the file and the line:
 * a hand-edited file must not silently point a command elsewhere.
 */
export function parseEnvFile(text: string, file: string): Env {
  const values: Env = {};
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!match) throw new Error(`${file}:${index + 1}: expected KEY=value, got "${line.slice(0, 80)}"`);
    const [, key, value] = match as unknown as [string, string, string];
    values[key] = value.replace(/^(["'])(.*)\1$/, "$2");
  });
  return values;
}

/**
 * The environment every `pnpm cli` command runs with, so each finds the local stack the same way
 * `pnpm cli status` does: what the environment says wins; when it names no stack, the env file
 * of the stack `pnpm stack:up`/`pnpm start` runs in this checkout; sink commands read the config
 * `pnpm start` runs the sink with; and, while `pnpm start` runs against the fake Brevo, the fake's
 * address and key (a real BREVO_API_KEY in the environment is never replaced).
 */
export function commandEnv(env: Env): Env {
  const merged: Env = { ...env };
  const named = STACK_VARS.some((name) => env[name]);
  const file = join(stateDir(env), "env");
  if (!named && existsSync(file)) {
    for (const [key, value] of Object.entries(parseEnvFile(readFileSync(file, "utf8"), file))) {
      if (merged[key] === undefined) merged[key] = value;
    }
  }
  merged["SINK_CONFIG_FILE"] ??= DEFAULT_SINK_CONFIG;
  const pipeline = readPipelineInfo(env);
  if (pipeline?.brevo.fake && pipeline.brevo.apiKey && !env["BREVO_API_KEY"]) {
    merged["BREVO_API_KEY"] = pipeline.brevo.apiKey;
    merged["BREVO_BASE_URL"] ??= pipeline.brevo.url;
  }
  return merged;
}

/** What the running `pnpm start` wrote (webhook URL, secret, Brevo); undefined when none runs here. */
export function readPipelineInfo(env: Env): PipelineInfo | undefined {
  try {
    return JSON.parse(readFileSync(pipelineFile(env), "utf8")) as PipelineInfo;
  } catch {
    return undefined;
  }
}
