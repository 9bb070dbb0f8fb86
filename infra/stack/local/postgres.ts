import pg from "pg";
import { StackError } from "../types.ts";

/** Creates a database on the machine's PostgreSQL if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (cause) {
    throw new StackError(
      "PostgreSQL",
      `cannot connect to ${redactUrl(adminUrl)} (${(cause as Error).message}). Start the server ` +
        "(Debian: apt-get install -y postgresql && pg_ctlcluster 15 main start) or set STACK_POSTGRES_ADMIN_URL",
      undefined,
      { cause },
    );
  }
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } catch (cause) {
    // Two concurrent creators: the loser sees a duplicate, which is the outcome it wanted.
    if ((cause as { code?: string }).code !== "42P04") throw cause;
  } finally {
    await client.end();
  }
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** postgres://u@h:p/db -> jdbc:postgresql://h:p/db (credentials travel separately). */
export function toJdbc(url: string): { jdbcUrl: string; user: string; password: string } {
  const u = new URL(url);
  return {
    jdbcUrl: `jdbc:postgresql://${u.host}${u.pathname}`,
    user: decodeURIComponent(u.username) || "postgres",
    password: decodeURIComponent(u.password),
  };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable url)";
  }
}
