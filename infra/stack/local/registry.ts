import { dirname } from "node:path";
import { ownershipFlag, spawnDaemon } from "./processes.ts";

export interface RegistryOptions {
  jar: string;
  stateDir: string;
  port: number;
  /** JDBC URL of the Postgres database that stores the schemas. */
  jdbcUrl: string;
  dbUser: string;
  dbPassword: string;
  logFile: string;
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
      APICURIO_STORAGE_KIND: "sql",
      APICURIO_STORAGE_SQL_KIND: "postgresql",
      APICURIO_DATASOURCE_URL: o.jdbcUrl,
      APICURIO_DATASOURCE_USERNAME: o.dbUser,
      APICURIO_DATASOURCE_PASSWORD: o.dbPassword,
    },
  });
}
