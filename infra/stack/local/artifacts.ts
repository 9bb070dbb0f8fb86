import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../paths.ts";
import { StackError } from "../types.ts";
import { VERSIONS } from "../versions.ts";
import { runLogged } from "./processes.ts";

const POM = join(REPO_ROOT, "infra/maven/pom.xml");
const DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1";
/**
 * Apicurio's published app POM names a parent (io.apicurio:apicurio-registry) that is not on
 * Maven Central, so plugin 3.x refuses to resolve it. 2.10 fetches the file without reading the
 * descriptor, which is all a runnable bundle needs.
 */
const LENIENT_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:2.10";
const COMPLETE = ".complete";

export interface Artifacts {
  kafkaLib: string;
  registryHome: string;
  registryJar: string;
}

/** Fails early, with the fix, when the tools the no-Docker path needs are missing. */
export function checkTools(): void {
  for (const [tool, args, fix] of [
    ["java", ["-version"], "install a JDK 17+ (Debian: apt-get install -y openjdk-17-jdk-headless)"],
    ["mvn", ["-v"], "install Maven (Debian: apt-get install -y maven)"],
  ] as const) {
    const probe = spawnSync(tool, args, { stdio: "ignore" });
    if (probe.error || probe.status !== 0) {
      throw new StackError(tool, `\`${tool}\` is not runnable here: ${fix}, or run with Docker (STACK_MODE=docker)`);
    }
  }
}

/**
 * Downloads Kafka and Apicurio from Maven Central into the cache, once. Each lands in a temporary
 * folder and is renamed into place when complete, so an interrupted download is never mistaken
 * for a good one.
 */
export function ensureArtifacts(cache: string, logFile: string, say: (line: string) => void): Artifacts {
  mkdirSync(cache, { recursive: true });
  const kafkaLib = join(cache, `kafka_${VERSIONS.scala}-${VERSIONS.kafka}`, "lib");
  const registryHome = join(cache, `apicurio-registry-${VERSIONS.apicurio}`);

  const kafkaJar = `kafka_${VERSIONS.scala}-${VERSIONS.kafka}.jar`;
  const kafkaLooksRight = (dir: string) => existsSync(join(dir, "lib", kafkaJar));
  fetchOnce(join(kafkaLib, ".."), kafkaLooksRight, logFile, say, `Apache Kafka ${VERSIONS.kafka}`, (tmp) => [
    "-B",
    "-f",
    POM,
    `${DEPENDENCY_PLUGIN}:copy-dependencies`,
    `-Dkafka.version=${VERSIONS.kafka}`,
    `-DoutputDirectory=${join(tmp, "lib")}`,
  ]);
  const registryLooksRight = (dir: string) => existsSync(registryJarIn(dir));
  fetchOnce(registryHome, registryLooksRight, logFile, say, `Apicurio Registry ${VERSIONS.apicurio}`, (tmp) => [
    "-B",
    "-f",
    POM,
    `${LENIENT_DEPENDENCY_PLUGIN}:unpack`,
    `-Dartifact=io.apicurio:apicurio-registry-app:${VERSIONS.apicurio}:tar.gz:all`,
    `-DoutputDirectory=${tmp}`,
    // The plugin remembers what it unpacked; keep that memory inside the temporary folder.
    `-DmarkersDirectory=${join(tmp, ".markers")}`,
  ]);

  return { kafkaLib, registryHome, registryJar: registryJarIn(registryHome) };
}

/** 3.0.x ships a legacy runner jar; later 3.x use Quarkus' fast-jar layout. */
function registryJarIn(home: string): string {
  const runner = existsSync(home) ? readdirSync(home).find((f) => f.endsWith("-runner.jar")) : undefined;
  return join(home, runner ?? "quarkus-run.jar");
}

function fetchOnce(
  target: string,
  looksRight: (dir: string) => boolean,
  logFile: string,
  say: (line: string) => void,
  label: string,
  mavenArgs: (tmp: string) => string[],
): void {
  if (existsSync(join(target, COMPLETE))) return;
  const tmp = `${target}.partial-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(`downloading ${label} from Maven Central (once; cached in ${target})`);
  const status = runLogged("mvn", mavenArgs(tmp), { cwd: REPO_ROOT, logFile });
  if (status !== 0 || !looksRight(tmp)) {
    rmSync(tmp, { recursive: true, force: true });
    const why =
      status !== 0 ? `Maven download failed (exit ${status})` : "Maven succeeded but the expected files are missing";
    throw new StackError(label, why, logFile);
  }
  writeFileSync(join(tmp, COMPLETE), new Date().toISOString());
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
}
