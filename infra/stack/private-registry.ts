import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkTools, ensureArtifacts } from "./local/artifacts.ts";
import { isAlive, stopProcess, tail } from "./local/processes.ts";
import { startRegistry } from "./local/registry.ts";
import { cacheDir } from "./paths.ts";
import { freePort } from "./ports.ts";
import { registryReady, waitUntil } from "./probes.ts";
import { StackError } from "./types.ts";

const CCOMPAT_PATH = "/apis/ccompat/v7";

/**
 * A schema registry of one's own beside a private broker (private-kafka.ts), for fault injection.
 * Its store is a Kafka topic on that broker (Apicurio's `kafkasql` storage), not Postgres: a
 * harness that kills Postgres must not take the registry's schemas with it, and schemas then live
 * exactly as long as the records that reference their ids. The registry keeps an in-memory copy of
 * the topic, so reads of known ids go on answering while the broker is down.
 */
export interface PrivateRegistry {
  /** Confluent-compatible base URL, as SCHEMA_REGISTRY_URL. */
  readonly url: string;
  /** Whether it answers now. */
  ready(): Promise<boolean>;
  kill(): Promise<void>;
  /** Starts it again (it replays its topic); resolves once it answers. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startPrivateRegistry(
  env: Record<string, string | undefined>,
  brokers: readonly string[],
): Promise<PrivateRegistry> {
  checkTools();
  const dir = mkdtempSync(join(tmpdir(), "sbs-private-registry-"));
  const logFile = join(dir, "registry.log");
  const artifacts = ensureArtifacts(cacheDir(env), join(dir, "maven.log"), () => {});
  const port = await freePort();
  const url = `http://127.0.0.1:${port}${CCOMPAT_PATH}`;
  let pid: number | undefined;

  const start = async () => {
    pid = startRegistry({
      jar: artifacts.registryJar,
      stateDir: dir,
      port,
      logFile,
      storage: { kind: "kafkasql", bootstrapServers: brokers.join(",") },
    });
    const started = pid;
    const outcome = await waitUntil(() => registryReady(url), {
      timeoutMs: 180_000,
      failFast: () => (isAlive(started) ? undefined : "exited"),
    });
    if (outcome !== "ready")
      throw new StackError("private registry", `${outcome}; last log lines:\n${tail(logFile)}`, logFile);
  };

  await start();
  return {
    url,
    ready: () => registryReady(url),
    async kill() {
      if (pid !== undefined && isAlive(pid)) {
        process.kill(pid, "SIGKILL");
        await stopProcess(pid, 5000);
      }
    },
    start,
    async dispose() {
      if (pid !== undefined) await stopProcess(pid, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
