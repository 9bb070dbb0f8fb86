import { dirname } from "node:path";
import { ownershipFlag, spawnDaemon } from "./processes.ts";

export interface RegistryOptions {
  jar: string;
  stateDir: string;
  port: number;
  logFile: string;
  /**
   * Where the schemas are stored: a Postgres database (the shared stack), or a Kafka topic on a
   * broker (a private stack whose Postgres is killed on purpose: the registry must not die with it).
   */
  storage:
    | { kind: "sql"; jdbcUrl: string; dbUser: string; dbPassword: string }
    | { kind: "kafkasql"; bootstrapServers: string };
}

function storageEnv(storage: RegistryOptions["storage"]): Record<string, string> {
  if (storage.kind === "kafkasql")
    return { APICURIO_STORAGE_KIND: "kafkasql", APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: storage.bootstrapServers };
  return {
    APICURIO_STORAGE_KIND: "sql",
    APICURIO_STORAGE_SQL_KIND: "postgresql",
    APICURIO_DATASOURCE_URL: storage.jdbcUrl,
    APICURIO_DATASOURCE_USERNAME: storage.dbUser,
    APICURIO_DATASOURCE_PASSWORD: storage.dbPassword,
  };
}

/**
 * Starts Apicurio Registry on loopback. Schemas are stored in Postgres rather than in memory, so
 * they survive a restart alongside the Kafka log whose records reference their ids.
 */
export function startRegistry(o: RegistryOptions): number {
  return spawnDaemon({
    command: "java",
    args: ["-Xms128m", "-Xmx384m", ownershipFlag(o.stateDir), "-jar", o.jar],
    cwd: dirname(o.jar),
    logFile: o.logFile,
    env: {
      QUARKUS_HTTP_HOST: "127.0.0.1",
      QUARKUS_HTTP_PORT: String(o.port),
      ...storageEnv(o.storage),
    },
  });
}
