import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

type Env = Record<string, string | undefined>;

/** Per-checkout runtime state: PIDs, logs, broker data. Ignored by git. */
export function stateDir(env: Env): string {
  return resolve(env["STACK_STATE_DIR"] ?? join(REPO_ROOT, ".stack"));
}

/** Downloaded binaries, shared by every checkout on the machine (they are large and immutable). */
export function cacheDir(env: Env): string {
  const base = env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache");
  return resolve(env["STACK_CACHE_DIR"] ?? join(base, "stripe-brevo-stream"));
}
