import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../paths.ts";
import { IMAGES } from "../versions.ts";

/**
 * What can be checked of the Docker path without a Docker engine: the compose file's images are
 * the pinned versions, the broker writes its log where the volume is mounted, and every
 * healthcheck runs a program the image is documented to ship. `pnpm stack:up --dry-run` prints
 * what `up` would start from the same parsed file.
 */

export const COMPOSE_FILE = join(REPO_ROOT, "infra/docker-compose.yml");

interface ComposeService {
  image?: string;
  ports?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, unknown>;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

export function readCompose(file = COMPOSE_FILE): ComposeFile {
  const parsed = parse(readFileSync(file, "utf8")) as ComposeFile | null;
  if (!parsed || typeof parsed.services !== "object") throw new Error(`${file}: no services`);
  return parsed;
}

/**
 * Programs each image is documented to contain, with where that is said. apache/kafka unpacks
 * the release tarball (whose bin/ has every CLI tool) into /opt/kafka (apache/kafka
 * docker/jvm/Dockerfile); the postgres image ships the server's client programs
 * (docker-library/postgres, "pg_isready" in its healthcheck examples); the registry image
 * documents no shell tools, so it has no healthcheck (stack:up polls its API instead).
 */
export const IMAGE_PROGRAMS: Readonly<Record<string, readonly string[]>> = {
  [IMAGES.kafka]: ["/opt/kafka/bin/kafka-broker-api-versions.sh", "/opt/kafka/bin/kafka-topics.sh"],
  [IMAGES.postgres]: ["pg_isready", "psql", "sh", "grep"],
  [IMAGES.registry]: [],
};

/** Where the apache/kafka image keeps its log unless KAFKA_LOG_DIRS says otherwise (its bundled KRaft config). */
export const KAFKA_IMAGE_DEFAULT_LOG_DIRS = "/tmp/kraft-combined-logs";

const EXACT_TAG = /:\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?(@sha256:[0-9a-f]{64})?$/;

/** Everything wrong with the compose file; empty when it is right. */
export function composeProblems(compose: ComposeFile): string[] {
  const problems: string[] = [];
  const pinned = new Set<string>(Object.values(IMAGES));
  for (const [name, service] of Object.entries(compose.services)) {
    const image = service.image;
    if (image === undefined) {
      problems.push(`${name}: no image`);
      continue;
    }
    if (!EXACT_TAG.test(image)) problems.push(`${name}: image ${image} is not pinned to an exact version`);
    if (!pinned.has(image))
      problems.push(`${name}: image ${image} is not one of infra/stack/versions.ts (${[...pinned].join(", ")})`);
    const programs = IMAGE_PROGRAMS[image] ?? [];
    const test = service.healthcheck?.test;
    if (test !== undefined) {
      const command = test[0] === "CMD-SHELL" ? (test[1] ?? "") : test.slice(1).join(" ");
      const program = command.trim().split(/\s+/)[0] ?? "";
      if (!programs.includes(program))
        problems.push(`${name}: healthcheck runs ${program}, which ${image} is not documented to contain`);
    }
  }
  const kafka = Object.entries(compose.services).find(([, s]) => s.image === IMAGES.kafka);
  if (kafka) {
    const [name, service] = kafka;
    const logDirs = String(service.environment?.["KAFKA_LOG_DIRS"] ?? KAFKA_IMAGE_DEFAULT_LOG_DIRS);
    const mounted = (service.volumes ?? []).map((v) => v.split(":")[1]);
    if (!logDirs.split(",").every((dir) => mounted.includes(dir)))
      problems.push(
        `${name}: the broker writes its log to ${logDirs}, which no volume holds (${mounted.join(", ") || "no volumes"}): re-creating the container would lose the event log`,
      );
    if (service.environment?.["CLUSTER_ID"] === undefined)
      problems.push(`${name}: no CLUSTER_ID: a re-created container must format its storage with the same id`);
  }
  return problems;
}

/** `pnpm stack:up --dry-run` in docker mode: what `docker compose up` would start. */
export function composePlan(compose: ComposeFile, file = COMPOSE_FILE): string[] {
  const lines = [`docker compose -f ${file} up -d --wait would start:`];
  for (const [name, s] of Object.entries(compose.services)) {
    const details = [
      s.image,
      s.ports?.length ? `ports ${s.ports.join(", ")}` : undefined,
      s.volumes?.length ? `volumes ${s.volumes.join(", ")}` : undefined,
      s.healthcheck?.test ? "healthcheck" : undefined,
      s.depends_on ? `after ${Object.keys(s.depends_on).join(", ")}` : undefined,
    ].filter(Boolean);
    lines.push(`  ${name.padEnd(12)} ${details.join("; ")}`);
  }
  return lines;
}
