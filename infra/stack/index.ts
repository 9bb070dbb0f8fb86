import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { composeDown, composeUp } from "./docker/compose.ts";
import { composePlan, composeProblems, readCompose } from "./docker/compose-file.ts";
import { dockerAvailable } from "./docker/engine.ts";
import { localDown, localStatus, localUp } from "./local/index.ts";
import { stateDir } from "./paths.ts";
import { kafkaReady, postgresReady, postgresVersion, registryReady, registryVersion } from "./probes.ts";
import { ensureServiceRoles } from "./roles.ts";
import { readSettings } from "./settings.ts";
import { type StackEndpoints, StackError, type StackMode } from "./types.ts";
import { VERSIONS } from "./versions.ts";

export { freePort } from "./ports.ts";
export { asUser, SERVICE_ROLES, type ServiceDatabaseUrls } from "./roles.ts";
export { type StackEndpoints, StackError, type StackMode, type StackVersions } from "./types.ts";

type Env = Record<string, string | undefined>;
type Say = (line: string) => void;

const ENV_VARS = ["KAFKA_BROKERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL"] as const;

/**
 * Option 1 of 3: the environment names a stack. All three variables or none: a half-given
 * environment is a mistake, not a hint to start the missing pieces.
 */
export function endpointsFromEnv(env: Env): Omit<StackEndpoints, "versions"> | undefined {
  const given = ENV_VARS.filter((name) => env[name]);
  if (given.length === 0) return undefined;
  const missing = ENV_VARS.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new StackError(
      "environment",
      `${given.join(", ")} set but ${missing.join(", ")} not: set all three to use an existing stack, or none to start one`,
    );
  }
  return {
    mode: "env",
    kafkaBrokers: (env["KAFKA_BROKERS"] ?? "")
      .split(",")
      .map((b) => b.trim())
      .filter(Boolean),
    schemaRegistryUrl: env["SCHEMA_REGISTRY_URL"] ?? "",
    databaseUrl: env["DATABASE_URL"] ?? "",
  };
}

/** Options 2 and 3: Docker when an engine answers, otherwise local JVMs. STACK_MODE overrides. */
export function chooseMode(env: Env): Exclude<StackMode, "env"> {
  const forced = readSettings(env).mode;
  if (forced === "docker" || forced === "local") return forced;
  return dockerAvailable() ? "docker" : "local";
}

/** Checks that an externally given stack answers, naming each piece that does not. */
async function verifyGiven(given: Omit<StackEndpoints, "versions">): Promise<StackEndpoints> {
  const [kafka, registry, postgres] = await Promise.all([
    kafkaReady(given.kafkaBrokers),
    registryReady(given.schemaRegistryUrl),
    postgresReady(given.databaseUrl),
  ]);
  const down = [
    kafka ? undefined : `Kafka at KAFKA_BROKERS=${given.kafkaBrokers.join(",")}`,
    registry ? undefined : `schema registry at SCHEMA_REGISTRY_URL=${given.schemaRegistryUrl}`,
    postgres ? undefined : "PostgreSQL at DATABASE_URL",
  ].filter(Boolean);
  if (down.length > 0) throw new StackError("environment", `not reachable: ${down.join("; ")}`);
  return {
    ...given,
    versions: {
      kafka: "external",
      registry: await registryVersion(given.schemaRegistryUrl),
      postgres: (await postgresVersion(given.databaseUrl)) ?? "unknown",
    },
  };
}

function dockerStateFile(env: Env): string {
  return join(stateDir(env), "docker.json");
}

/** `pnpm stack:up`: find or start the stack; a second call is a no-op. */
export async function stackUp(env: Env, say: Say): Promise<StackEndpoints> {
  const given = endpointsFromEnv(env);
  if (given) {
    say("using the stack named by KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL");
    return verifyGiven(given);
  }
  const mode = chooseMode(env);
  say(`mode: ${mode}${mode === "local" ? " (no Docker engine answered; using local JVMs)" : ""}`);
  const endpoints = await withServiceRoles(mode === "docker" ? await composeUp() : await localUp(env, say), say);
  if (mode === "docker") {
    mkdirSync(stateDir(env), { recursive: true });
    writeFileSync(dockerStateFile(env), JSON.stringify(endpoints, null, 2));
  }
  writeEnvFile(env, endpoints);
  return endpoints;
}

/** `pnpm stack:up --dry-run`: what `up` would use or start, without starting anything. */
export async function stackPlan(env: Env): Promise<string[]> {
  const given = endpointsFromEnv(env);
  if (given)
    return [
      `the environment names a stack: ${given.kafkaBrokers.join(",")}, ${given.schemaRegistryUrl}; nothing to start`,
    ];
  const mode = chooseMode(env);
  if (mode === "docker") {
    const compose = readCompose();
    const problems = composeProblems(compose);
    return [`mode: docker`, ...composePlan(compose), ...problems.map((p) => `problem: ${p}`)];
  }
  const s = readSettings(env);
  return [
    "mode: local (JVMs from Maven Central, the machine's PostgreSQL)",
    `  kafka        Apache Kafka ${VERSIONS.kafka} (KRaft, one node) on 127.0.0.1:${s.kafkaPort}, controller ${s.kafkaControllerPort}`,
    `  registry     Apicurio Registry ${VERSIONS.apicurio} on 127.0.0.1:${s.registryPort}`,
    `  postgres     databases ${s.databaseName} and sbs_registry via ${redactUrl(s.postgresAdminUrl)}`,
  ];
}

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");

/** `pnpm stack:down`: stops what `stack:up` started in this checkout, and nothing else. */
export async function stackDown(env: Env, say: Say): Promise<void> {
  if (existsSync(dockerStateFile(env))) {
    composeDown();
    rmSync(dockerStateFile(env), { force: true });
  }
  await localDown(env, say);
  // An env file naming a stopped stack would send the next command to dead ports.
  rmSync(join(stateDir(env), "env"), { force: true });
}

/** `pnpm stack:status`: what is running and whether it answers. */
export async function stackStatus(env: Env): Promise<{ endpoints?: StackEndpoints; healthy: boolean; detail: string }> {
  const given = endpointsFromEnv(env);
  if (given) {
    try {
      return { endpoints: await verifyGiven(given), healthy: true, detail: "external stack (from environment)" };
    } catch (error) {
      return { healthy: false, detail: (error as Error).message };
    }
  }
  if (existsSync(dockerStateFile(env))) {
    const endpoints = JSON.parse(readFileSync(dockerStateFile(env), "utf8")) as StackEndpoints;
    const healthy = (await kafkaReady(endpoints.kafkaBrokers)) && (await registryReady(endpoints.schemaRegistryUrl));
    return { endpoints, healthy, detail: "docker compose stack" };
  }
  const local = await localStatus(env);
  if (!local.running) return { healthy: false, detail: "not running (pnpm stack:up starts it)" };
  return {
    endpoints: local.endpoints,
    healthy: local.healthy,
    detail: `local JVMs: kafka pid ${local.pids.kafka ?? "-"}, registry pid ${local.pids.registry ?? "-"}`,
  };
}

/**
 * The services' own DML-only roles on the stack's Postgres (created when missing). Best effort for
 * a stack given by the environment: a user that may not create roles leaves them absent, and the
 * banner says the services then run as DATABASE_URL's user.
 */
async function withServiceRoles(endpoints: StackEndpoints, say: Say): Promise<StackEndpoints> {
  try {
    return { ...endpoints, serviceDatabaseUrls: await ensureServiceRoles(endpoints.databaseUrl) };
  } catch (error) {
    say(
      `could not create the services' database roles (${(error as Error).message}); services run as DATABASE_URL's user`,
    );
    return endpoints;
  }
}

/** Lines a shell can `source`, so services started by hand find the stack. */
export function envLines(endpoints: StackEndpoints): string[] {
  return [
    `KAFKA_BROKERS=${endpoints.kafkaBrokers.join(",")}`,
    `SCHEMA_REGISTRY_URL=${endpoints.schemaRegistryUrl}`,
    // The owner: migrations (pnpm cli migrate) and operator commands.
    `DATABASE_URL=${endpoints.databaseUrl}`,
    // The services' DML-only roles: `DATABASE_URL=$PROJECTOR_DATABASE_URL MIGRATE_ON_START=false`.
    ...(endpoints.serviceDatabaseUrls
      ? [
          `PROJECTOR_DATABASE_URL=${endpoints.serviceDatabaseUrls.projector}`,
          `SINK_DATABASE_URL=${endpoints.serviceDatabaseUrls.sink}`,
        ]
      : []),
    // One broker: topics can only have one replica. Production leaves this unset (RF 3 enforced).
    "KAFKA_SINGLE_NODE=true",
  ];
}

function writeEnvFile(env: Env, endpoints: StackEndpoints) {
  mkdirSync(stateDir(env), { recursive: true });
  writeFileSync(
    join(stateDir(env), "env"),
    `${envLines(endpoints)
      .map((l) => `export ${l}`)
      .join("\n")}\n`,
  );
}

/** For the test runner: reuse a running stack, or start one for this run and say how to stop it. */
export async function ensureTestStack(
  env: Env,
  say: Say,
): Promise<{ endpoints: StackEndpoints; teardown?: () => Promise<void> }> {
  const given = endpointsFromEnv(env);
  if (given) return { endpoints: await withServiceRoles(await verifyGiven(given), say) };
  if (existsSync(dockerStateFile(env))) {
    const endpoints = JSON.parse(readFileSync(dockerStateFile(env), "utf8")) as StackEndpoints;
    return { endpoints: await withServiceRoles(endpoints, say) };
  }
  if (chooseMode(env) === "docker") {
    const { startContainers } = await import("./docker/testcontainers.ts");
    say("starting throwaway containers with testcontainers");
    const started = await startContainers();
    return { endpoints: await withServiceRoles(started.endpoints, say), teardown: started.stop };
  }
  const before = await localStatus(env);
  const endpoints = await withServiceRoles(await localUp(env, say), say);
  if (before.running && before.healthy) return { endpoints };
  return { endpoints, teardown: () => localDown(env, say) };
}
