import pg from "pg";

/**
 * The services' database roles on a local stack (issue #16). Migrations run as the stack's
 * DATABASE_URL (the deploy-time owner; locally the server's admin); the projector and the sink
 * run as login roles that hold nothing but membership of the NOLOGIN group role their migrations
 * grant DML to. Local servers use trust authentication, so the login roles have no password; in
 * production each gets one (or a certificate) from the deployment.
 */
export const SERVICE_ROLES = {
  projector: { login: "sbs_projector_app", group: "sbs_projector" },
  sink: { login: "sbs_sink_app", group: "sbs_sink" },
} as const;

export type ServiceDatabaseUrls = { readonly [K in keyof typeof SERVICE_ROLES]: string };

/** The same server and database as another user. */
export function asUser(url: string, user: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = "";
  return u.toString();
}

/**
 * Creates the group and login roles when missing and (re)states their attributes: LOGIN, and
 * explicitly none of SUPERUSER, CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS. Idempotent and safe
 * to race (roles are cluster-wide: concurrent creators see a duplicate and carry on).
 */
export async function ensureServiceRoles(adminDatabaseUrl: string): Promise<ServiceDatabaseUrls> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    for (const { login, group } of Object.values(SERVICE_ROLES)) {
      await createRole(client, group, "NOLOGIN");
      await createRole(client, login, "LOGIN");
      await client.query(
        `ALTER ROLE ${pg.escapeIdentifier(login)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`,
      );
      await client.query(`GRANT ${pg.escapeIdentifier(group)} TO ${pg.escapeIdentifier(login)}`);
    }
  } finally {
    await client.end();
  }
  return {
    projector: asUser(adminDatabaseUrl, SERVICE_ROLES.projector.login),
    sink: asUser(adminDatabaseUrl, SERVICE_ROLES.sink.login),
  };
}

async function createRole(client: pg.Client, name: string, attributes: string): Promise<void> {
  const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name]);
  if (exists.rowCount !== 0) return;
  try {
    await client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} ${attributes}`);
  } catch (cause) {
    // 42710 duplicate_object, 23505 unique_violation: another creator won the race.
    const code = (cause as { code?: string }).code;
    if (code !== "42710" && code !== "23505") throw cause;
  }
}
