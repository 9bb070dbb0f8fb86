import { type ChildProcess, spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Running the services as their own processes: what `pnpm start` and the end-to-end test share. */

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

export const SERVICE_ENTRY = {
  ingest: "services/ingest/src/main.ts",
  projector: "services/projector/src/main.ts",
  "brevo-sink": "services/brevo-sink/src/main.ts",
  // Issue #20: Checkout line items, read from the Stripe API after the webhook was answered.
  enricher: "services/ingest/src/enrichment/main.ts",
} as const;

export type ServiceName = keyof typeof SERVICE_ENTRY;

/**
 * Node flags per service. The projector allocates a lot of short-lived objects per event (decoded
 * payloads, facts, rows, JSON for Postgres); a 64 MB young generation (V8's default is 16 MB) lets
 * most of them die there instead of being promoted and marked again by full collections. Bench, 1M
 * events, three runs each: 3.8k-4.5k events/s with the default, 4.5k-5.1k with 64 MB (128 MB: 5.0k,
 * no better, at twice the memory). `services/projector/package.json` starts it the same way.
 */
const NODE_FLAGS: Readonly<Record<ServiceName, readonly string[]>> = {
  ingest: [],
  projector: ["--max-semi-space-size=64"],
  "brevo-sink": [],
  enricher: [],
};

/**
 * The environment that runs the projector and the sink as their own DML-only roles (migrations
 * already applied by the owner): nothing when the stack has no such roles.
 */
export function serviceRoleEnv(endpoints: { serviceDatabaseUrls?: { projector: string; sink: string } }): {
  projector: Record<string, string>;
  sink: Record<string, string>;
} {
  const urls = endpoints.serviceDatabaseUrls;
  if (urls === undefined) return { projector: {}, sink: {} };
  return {
    projector: { DATABASE_URL: urls.projector, MIGRATE_ON_START: "false" },
    sink: { DATABASE_URL: urls.sink, MIGRATE_ON_START: "false" },
  };
}

/**
 * `detached`: the service leads a process group of its own, so a supervisor can signal it with
 * its children (ingest's cluster workers) at once, as a crash of the whole unit would.
 */
export function startService(
  name: ServiceName,
  env: Record<string, string | undefined>,
  logFile: string,
  options: { detached?: boolean } = {},
): ChildProcess {
  const out = openSync(logFile, "a");
  return spawn(process.execPath, [...NODE_FLAGS[name], "--import", "tsx", join(REPO_ROOT, SERVICE_ENTRY[name])], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", out, out],
    detached: options.detached ?? false,
  });
}

/** SIGTERM (graceful), SIGKILL after the grace period; resolves when the process is gone. */
export function stopService(child: ChildProcess, graceMs = 20_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), graceMs).unref();
  });
}

export async function waitForOk(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).ok) return true;
    } catch {
      // Not up yet.
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

export function lastLines(file: string, n = 10): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}
