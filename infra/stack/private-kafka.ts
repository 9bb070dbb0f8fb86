import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chooseMode } from "./index.ts";
import { checkTools, ensureArtifacts } from "./local/artifacts.ts";
import { startKafka } from "./local/kafka.ts";
import { isAlive, stopProcess, tail } from "./local/processes.ts";
import { cacheDir } from "./paths.ts";
import { freePort } from "./ports.ts";
import { kafkaReady, waitUntil } from "./probes.ts";
import { StackError } from "./types.ts";

/**
 * A broker of a test's own, for fault injection (kill it, start it again) without disturbing
 * the shared stack other test files are using. Same version and settings as the shared one.
 */
export interface PrivateKafka {
  brokers: string[];
  /** kill -9: the broker disappears without a goodbye, as in a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves when it answers. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  dispose(): Promise<void>;
}

export async function startPrivateKafka(env: Record<string, string | undefined>): Promise<PrivateKafka> {
  if (chooseMode(env) === "docker") {
    throw new StackError("private Kafka", "only the local (JVM) mode supports a private broker so far");
  }
  checkTools();
  const dir = mkdtempSync(join(tmpdir(), "sbs-private-kafka-"));
  const logFile = join(dir, "kafka.log");
  const artifacts = ensureArtifacts(cacheDir(env), join(dir, "maven.log"), () => {});
  const port = await freePort();
  const controllerPort = await freePort();
  const brokers = [`127.0.0.1:${port}`];
  let pid: number | undefined;

  const start = async () => {
    pid = startKafka({ libDir: artifacts.kafkaLib, stateDir: dir, port, controllerPort, logFile });
    const started = pid;
    const outcome = await waitUntil(() => kafkaReady(brokers), {
      timeoutMs: 120_000,
      failFast: () => (isAlive(started) ? undefined : "exited"),
    });
    if (outcome !== "ready")
      throw new StackError("private Kafka", `${outcome}; last log lines:\n${tail(logFile)}`, logFile);
  };
  const kill = async () => {
    if (pid !== undefined && isAlive(pid)) {
      process.kill(pid, "SIGKILL");
      await stopProcess(pid, 5000);
    }
  };

  await start();
  return {
    brokers,
    kill,
    start,
    async dispose() {
      if (pid !== undefined) await stopProcess(pid, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
