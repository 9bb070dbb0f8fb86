import { StackError, type StackMode } from "./types.ts";

type Env = Record<string, string | undefined>;

/** Knobs for the self-started stack, all optional, all `STACK_*` so they never clash with service config. */
export interface StackSettings {
  /** Force a mode instead of detecting one. */
  mode: StackMode | undefined;
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  /** Admin connection to the machine's PostgreSQL (local mode), used to create the project's databases. */
  postgresAdminUrl: string;
  databaseName: string;
  startTimeoutMs: number;
}

export function readSettings(env: Env): StackSettings {
  const problems: string[] = [];
  const int = (name: string, fallback: number, max: number, what: string): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) problems.push(`${name}="${raw}" is not ${what} (1-${max})`);
    return n;
  };
  const port = (name: string, fallback: number) => int(name, fallback, 65535, "a TCP port");
  const mode = env["STACK_MODE"];
  if (mode !== undefined && mode !== "" && !["env", "docker", "local"].includes(mode)) {
    problems.push(`STACK_MODE="${mode}" must be one of: docker, local, env`);
  }
  const settings: StackSettings = {
    mode: mode ? (mode as StackMode) : undefined,
    kafkaPort: port("STACK_KAFKA_PORT", 9092),
    kafkaControllerPort: port("STACK_KAFKA_CONTROLLER_PORT", 9093),
    registryPort: port("STACK_REGISTRY_PORT", 8081),
    postgresAdminUrl: env["STACK_POSTGRES_ADMIN_URL"] || "postgres://postgres@127.0.0.1:5432/postgres",
    databaseName: env["STACK_DATABASE_NAME"] || "sbs",
    startTimeoutMs: int("STACK_START_TIMEOUT_S", 180, 3600, "a number of seconds") * 1000,
  };
  if (problems.length > 0) throw new StackError("stack settings", problems.join("; "));
  return settings;
}
