import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.ts";
import { kafkaReady, postgresVersion, registryReady, registryVersion, waitUntil } from "../probes.ts";
import { type StackEndpoints, StackError } from "../types.ts";
import { CCOMPAT_PATH, VERSIONS } from "../versions.ts";

const COMPOSE_FILE = join(REPO_ROOT, "infra/docker-compose.yml");

/** The fixed host ports published by infra/docker-compose.yml. */
const ENDPOINTS = {
  kafkaBrokers: ["127.0.0.1:9092"],
  schemaRegistryUrl: `http://127.0.0.1:8081${CCOMPAT_PATH}`,
  databaseUrl: "postgres://postgres@127.0.0.1:55432/sbs",
};

function compose(args: string[]): void {
  const run = spawnSync("docker", ["compose", "-f", COMPOSE_FILE, ...args], { stdio: "inherit" });
  if (run.error || run.status !== 0) {
    throw new StackError(
      "docker compose",
      `\`docker compose ${args.join(" ")}\` failed (exit ${run.status}); see \`docker compose -f ${COMPOSE_FILE} logs\``,
    );
  }
}

export async function composeUp(): Promise<StackEndpoints> {
  // --wait blocks until every healthcheck passes; a second `up` on a healthy stack changes nothing.
  compose(["up", "-d", "--wait"]);
  for (const [piece, probe] of [
    ["Kafka", () => kafkaReady(ENDPOINTS.kafkaBrokers)],
    ["Apicurio Registry", () => registryReady(ENDPOINTS.schemaRegistryUrl)],
  ] as const) {
    if ((await waitUntil(probe, { timeoutMs: 120_000 })) !== "ready") {
      throw new StackError(piece, `not answering after 120 s; see \`docker compose -f ${COMPOSE_FILE} logs\``);
    }
  }
  return {
    mode: "docker",
    ...ENDPOINTS,
    versions: {
      kafka: VERSIONS.kafka,
      registry: await registryVersion(ENDPOINTS.schemaRegistryUrl),
      postgres: (await postgresVersion(ENDPOINTS.databaseUrl)) ?? "unknown",
    },
  };
}

export function composeDown(): void {
  // Volumes are kept: the event log is the source of truth and must survive a restart.
  compose(["down"]);
}

export function composePs(): void {
  compose(["ps"]);
}
