import { basename, dirname, resolve } from "node:path";
import { runner } from "node-pg-migrate";
import pg from "pg";
import { AppError } from "./errors.ts";
import type { Logger } from "./logger.ts";

export type { Pool, PoolClient } from "pg";

export interface PoolConfig {
  url: string;
  /** Postgres schema to work in (search_path); integration tests use one per test file. */
  schema?: string;
  max?: number;
  applicationName: string;
  /** Told when an idle client's connection fails (the pool has already discarded it). */
  onIdleError?: (error: Error) => void;
}

/**
 * A pool whose idle clients may lose their connection without taking the process down: pg emits
 * 'error' on the pool when an idle client's connection ends (Postgres restarted or crashed, a
 * backend terminated), and an 'error' event with no listener throws. The pool has already dropped
 * that client; the next query opens a new connection. Every pool gets the listener here, so no
 * caller can forget it (the sink did, and died on every Postgres restart).
 */
export function createPool(config: PoolConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.max ?? 10,
    application_name: config.applicationName,
    connectionTimeoutMillis: 5000,
    ...(config.schema ? { options: `-c search_path=${pg.escapeIdentifier(config.schema)}` } : {}),
  });
  pool.on("error", (error) => config.onIdleError?.(error));
  return pool;
}

/** A client checked out of a pool, kept alive when its connection dies (see checkout). */
export interface CheckedOutClient {
  readonly client: pg.PoolClient;
  /** Gives the client back; a client whose connection failed (or `destroy`) is discarded, not reused. */
  release(destroy?: Error | boolean): void;
}

/**
 * `pool.connect()` for code that holds a client across several queries (a transaction). pg emits
 * 'error' on a checked-out client when its connection ends (a Postgres restart, failover,
 * pg_terminate_backend, a network drop), and the pool listens only while the client is idle: with
 * no listener that event kills the process, instead of the query in flight failing and the caller
 * retrying. Here the listener records the failure (the query still rejects) and `release`
 * discards such a client.
 */
export async function checkout(pool: pg.Pool): Promise<CheckedOutClient> {
  const client = await pool.connect();
  let failed: Error | undefined;
  const onError = (error: Error) => {
    failed ??= error;
  };
  client.on("error", onError);
  return {
    client,
    release(destroy) {
      client.off("error", onError);
      const discard = failed ?? (destroy === true ? new Error("discarded") : destroy || undefined);
      client.release(discard);
    },
  };
}

/**
 * Runs `work` in one transaction on a checked-out client: COMMIT when it resolves, ROLLBACK and
 * rethrow when it throws (the client is then discarded, as its connection may be the cause).
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkout(pool);
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    release(broken);
  }
}

export interface MigrationConfig {
  url: string;
  /** Folder of `NNNN_name.sql` files with `-- Up Migration` / `-- Down Migration` sections. */
  dir: string;
  schema?: string;
  /**
   * Where node-pg-migrate records what ran. Services share a database, so each needs its own
   * table; the default is `pgmigrations_<folder that holds the migrations folder>`.
   */
  table?: string;
  logger: Logger;
}

/** services/projector/migrations -> pgmigrations_projector */
export function migrationsTableFor(dir: string): string {
  const owner = basename(dirname(resolve(dir)));
  return `pgmigrations_${owner.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`;
}

/** Our own advisory lock key ("sbs-migrate" as an int64); held for the whole run. */
const MIGRATION_LOCK = "7237105866725089893";

/**
 * Applies pending migrations with node-pg-migrate and records them in the service's own table
 * (`migrationsTableFor`) inside the target schema. node-pg-migrate only *tries* its lock and fails when another instance holds it;
 * we take a blocking advisory lock first, so instances that start together wait their turn and
 * each migration is applied exactly once.
 */
export async function migrate(config: MigrationConfig): Promise<string[]> {
  const log = config.logger.child({ component: "migrations" });
  const client = new pg.Client({ connectionString: config.url, application_name: "migrations" });
  try {
    await client.connect();
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    // CREATE SCHEMA IF NOT EXISTS checks CREATE on the database before it looks: an owner role
    // that owns its (existing) schema but may not create schemas would be refused.
    const schemaExists =
      config.schema !== undefined &&
      ((await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [config.schema])).rowCount ?? 0) > 0;
    const applied = await runner({
      dbClient: client,
      noLock: true,
      dir: config.dir,
      direction: "up",
      migrationsTable: config.table ?? migrationsTableFor(config.dir),
      checkOrder: true,
      singleTransaction: true,
      ...(config.schema ? { schema: config.schema, createSchema: !schemaExists } : {}),
      log: (message: string) => log.debug(message),
    });
    const names = applied.map((m) => m.name);
    if (names.length > 0) log.info({ applied: names }, "migrations applied");
    return names;
  } catch (cause) {
    throw new AppError("migration_failed", `migrating ${config.dir} failed: ${(cause as Error).message}`, {
      retriable: false,
      cause,
    });
  } finally {
    // Ending the session releases the advisory lock.
    await client.end().catch(() => {});
  }
}
