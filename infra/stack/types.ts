export type StackMode = "env" | "docker" | "local";

/** Where the running stack can be reached, and what it is. */
export interface StackEndpoints {
  mode: StackMode;
  kafkaBrokers: string[];
  /** Base URL of the Confluent-compatible API (for Apicurio: `<host>/apis/ccompat/v7`). */
  schemaRegistryUrl: string;
  /** The owner's URL: migrations, tests that create schemas, operator commands. */
  databaseUrl: string;
  /**
   * Where the projector and the sink connect: their own DML-only login roles (infra/stack/roles.ts).
   * Absent when the stack's Postgres user may not create roles (an external stack).
   */
  serviceDatabaseUrls?: { projector: string; sink: string };
  versions: StackVersions;
}

export interface StackVersions {
  kafka: string;
  registry: string;
  postgres: string;
}

/** A stack piece that could not start or be reached. Names the piece and where its log is. */
export class StackError extends Error {
  override readonly name = "StackError";
  constructor(
    readonly piece: string,
    message: string,
    readonly logFile?: string,
    options?: ErrorOptions,
  ) {
    super(`${piece}: ${message}${logFile ? `\n  log: ${logFile}` : ""}`, options);
  }
}
