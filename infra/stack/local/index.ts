import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir, stateDir } from "../paths.ts";
import { portIsFree } from "../ports.ts";
import { kafkaReady, postgresVersion, registryReady, registryVersion, waitUntil } from "../probes.ts";
import { readSettings } from "../settings.ts";
import { type StackEndpoints, StackError } from "../types.ts";
import { CCOMPAT_PATH, VERSIONS } from "../versions.ts";
import { checkTools, ensureArtifacts } from "./artifacts.ts";
import { startKafka } from "./kafka.ts";
import { ensureDatabase, toJdbc, withDatabase } from "./postgres.ts";
import { isAlive, isOurs, stopProcess, tail } from "./processes.ts";
import { startRegistry } from "./registry.ts";

type Env = Record<string, string | undefined>;
type Say = (line: string) => void;

interface LocalState {
  pids: { kafka?: number; registry?: number };
  endpoints: StackEndpoints;
}

const REGISTRY_DB_SUFFIX = "_registry";

function files(env: Env) {
  const dir = stateDir(env);
  const logs = join(dir, "logs");
  return {
    dir,
    state: join(dir, "local.json"),
    kafkaLog: join(logs, "kafka.log"),
    registryLog: join(logs, "registry.log"),
    mavenLog: join(logs, "maven.log"),
    logs,
  };
}

function readState(path: string): LocalState | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LocalState;
  } catch {
    return undefined;
  }
}

/** Recorded processes that are still ours (a recycled PID owned by someone else does not count). */
function liveOwned(state: LocalState, dir: string): { kafka: boolean; registry: boolean } {
  const owned = (pid: number | undefined) => pid !== undefined && isAlive(pid) && isOurs(pid, dir);
  return { kafka: owned(state.pids.kafka), registry: owned(state.pids.registry) };
}

export async function localStatus(
  env: Env,
): Promise<
  { running: false } | { running: true; healthy: boolean; endpoints: StackEndpoints; pids: LocalState["pids"] }
> {
  const f = files(env);
  const state = readState(f.state);
  if (!state) return { running: false };
  const live = liveOwned(state, f.dir);
  if (!live.kafka && !live.registry) return { running: false };
  const healthy =
    live.kafka &&
    live.registry &&
    (await kafkaReady(state.endpoints.kafkaBrokers)) &&
    (await registryReady(state.endpoints.schemaRegistryUrl));
  return { running: true, healthy, endpoints: state.endpoints, pids: state.pids };
}

/**
 * Starts Kafka and Apicurio as local JVMs and prepares the project's databases on the machine's
 * PostgreSQL. Idempotent: when our processes are already up and healthy this returns at once.
 */
export async function localUp(env: Env, say: Say): Promise<StackEndpoints> {
  const settings = readSettings(env);
  const f = files(env);
  const existing = await localStatus(env);
  if (existing.running && existing.healthy) {
    say("already running (no-op)");
    return existing.endpoints;
  }
  if (existing.running) {
    say("a previous stack is half up; stopping it before starting afresh");
    await localDown(env, say);
  }

  mkdirSync(f.logs, { recursive: true });
  const databaseUrl = withDatabase(settings.postgresAdminUrl, settings.databaseName);
  await ensureDatabase(settings.postgresAdminUrl, settings.databaseName);
  await ensureDatabase(settings.postgresAdminUrl, settings.databaseName + REGISTRY_DB_SUFFIX);

  for (const [piece, port, variable] of [
    ["Kafka", settings.kafkaPort, "STACK_KAFKA_PORT"],
    ["Kafka controller", settings.kafkaControllerPort, "STACK_KAFKA_CONTROLLER_PORT"],
    ["Apicurio Registry", settings.registryPort, "STACK_REGISTRY_PORT"],
  ] as const) {
    if (!(await portIsFree(port))) {
      throw new StackError(
        piece,
        `port 127.0.0.1:${port} is already taken by another process; free it or set ${variable}`,
      );
    }
  }

  checkTools();
  const artifacts = ensureArtifacts(cacheDir(env), f.mavenLog, say);

  const kafkaBrokers = [`127.0.0.1:${settings.kafkaPort}`];
  const schemaRegistryUrl = `http://127.0.0.1:${settings.registryPort}${CCOMPAT_PATH}`;
  const registryDb = toJdbc(withDatabase(settings.postgresAdminUrl, settings.databaseName + REGISTRY_DB_SUFFIX));
  const pids: LocalState["pids"] = {};
  const endpoints: StackEndpoints = {
    mode: "local",
    kafkaBrokers,
    schemaRegistryUrl,
    databaseUrl,
    versions: { kafka: VERSIONS.kafka, registry: `Apicurio Registry ${VERSIONS.apicurio}`, postgres: "?" },
  };
  const save = () => writeFileSync(f.state, `${JSON.stringify({ pids, endpoints }, null, 2)}\n`);

  try {
    say(`starting Kafka ${VERSIONS.kafka} on ${kafkaBrokers[0]} (log: ${f.kafkaLog})`);
    pids.kafka = startKafka({
      libDir: artifacts.kafkaLib,
      stateDir: f.dir,
      port: settings.kafkaPort,
      controllerPort: settings.kafkaControllerPort,
      logFile: f.kafkaLog,
    });
    save();
    say(`starting Apicurio Registry ${VERSIONS.apicurio} on ${schemaRegistryUrl} (log: ${f.registryLog})`);
    pids.registry = startRegistry({
      jar: artifacts.registryJar,
      stateDir: f.dir,
      port: settings.registryPort,
      storage: { kind: "sql", jdbcUrl: registryDb.jdbcUrl, dbUser: registryDb.user, dbPassword: registryDb.password },
      logFile: f.registryLog,
    });
    save();

    const started = Date.now();
    await Promise.all([
      waitHealthy("Kafka", () => kafkaReady(kafkaBrokers), pids.kafka, f.kafkaLog, settings.startTimeoutMs),
      waitHealthy(
        "Apicurio Registry",
        () => registryReady(schemaRegistryUrl),
        pids.registry,
        f.registryLog,
        settings.startTimeoutMs,
      ),
    ]);
    say(`healthy after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await stopAll(pids);
    rmSync(f.state, { force: true });
    throw error;
  }

  endpoints.versions.registry = await registryVersion(schemaRegistryUrl);
  endpoints.versions.postgres = (await postgresVersion(databaseUrl)) ?? "unknown";
  save();
  return endpoints;
}

async function waitHealthy(
  piece: string,
  probe: () => Promise<boolean>,
  pid: number,
  logFile: string,
  timeoutMs: number,
) {
  const outcome = await waitUntil(probe, {
    timeoutMs,
    failFast: () => (isAlive(pid) ? undefined : "exited"),
  });
  if (outcome === "ready") return;
  const why = outcome === "timeout" ? `not healthy after ${timeoutMs / 1000} s` : "exited during startup";
  throw new StackError(piece, `${why}; last log lines:\n${tail(logFile)}`, logFile);
}

async function stopAll(pids: LocalState["pids"]) {
  await Promise.all(Object.values(pids).map((pid) => (pid === undefined ? undefined : stopProcess(pid))));
}

/** Stops exactly the processes this checkout started (and only if they are still ours). */
export async function localDown(env: Env, say: Say): Promise<void> {
  const f = files(env);
  const state = readState(f.state);
  if (!state) {
    say("not running (no-op)");
    return;
  }
  const live = liveOwned(state, f.dir);
  const ours = {
    ...(live.kafka ? { kafka: state.pids.kafka } : {}),
    ...(live.registry ? { registry: state.pids.registry } : {}),
  };
  for (const [name, pid] of Object.entries(ours)) say(`stopping ${name} (pid ${pid})`);
  await stopAll(ours);
  rmSync(f.state, { force: true });
}
