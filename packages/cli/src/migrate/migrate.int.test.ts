import { asUser } from "@sbs/infra";

import { testStack, uniqueName, withClient } from "@sbs/shared/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMigrate } from "./command.ts";

/**
 * The deploy-time owner needs no superuser: an ordinary role that owns the schema runs every
 * migration of both services (`pnpm cli migrate`), and the grants it leaves are the ones the
 * README documents. The group roles exist already (the stack made them), so it needs no
 * CREATEROLE either.
 */
const stack = testStack();
const owner = uniqueName("t_owner").replaceAll("-", "_");
const schema = uniqueName("t_owned").replaceAll("-", "_");
const q = pg.escapeIdentifier;
const admin = (sql: string) => withClient(stack.databaseUrl, (c) => c.query(sql));

beforeAll(async () => {
  await admin(`CREATE ROLE ${q(owner)} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB`);
  await admin(`CREATE SCHEMA ${q(schema)} AUTHORIZATION ${q(owner)}`);
});
afterAll(async () => {
  await admin(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
  await admin(`DROP OWNED BY ${q(owner)}`).catch(() => {});
  await admin(`DROP ROLE IF EXISTS ${q(owner)}`);
});

describe("pnpm cli migrate as a plain owner role", () => {
  it("applies both services' migrations and leaves the documented grants", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const env = { DATABASE_URL: asUser(stack.databaseUrl, owner), DATABASE_SCHEMA: schema };
    const code = await runMigrate([], { out: (t) => out.push(t), err: (t) => err.push(t), env });
    expect(err.join("")).toBe("");
    expect(code).toBe(0);
    expect(out.join("")).toContain("projector/0004_privacy_and_roles");
    expect(out.join("")).toContain("brevo-sink/0003_sink_role");

    const { rows } = await withClient(stack.databaseUrl, (c) =>
      c
        .query(
          `SET search_path = ${q(schema)};
         SELECT
           has_table_privilege('sbs_projector', 'fact_customer', 'SELECT, INSERT, UPDATE, DELETE') AS projector_facts,
           has_table_privilege('sbs_projector', 'brevo_contact_state', 'SELECT') AS projector_sink_tables,
           has_table_privilege('sbs_projector', 'erased_id', 'INSERT') AS projector_writes_erasures,
           has_table_privilege('sbs_sink', 'brevo_contact_state', 'SELECT, INSERT, UPDATE, DELETE') AS sink_tables,
           has_table_privilege('sbs_sink', 'customer_changes', 'SELECT') AS sink_feed,
           has_table_privilege('sbs_sink', 'projection_pointer', 'SELECT') AS sink_pointer,
           has_table_privilege('sbs_sink', 'customer_projection', 'SELECT') AS sink_projection_table,
           has_table_privilege('sbs_analytics', 'customer_metrics', 'SELECT') AS analytics_view,
           has_table_privilege('sbs_analytics', 'customer_changes', 'SELECT') AS analytics_feed,
           (SELECT 'security_barrier=true' = ANY(reloptions) FROM pg_class WHERE oid = 'customer_metrics'::regclass) AS barrier`,
        )
        .then((results) => (results as unknown as pg.QueryResult[])[1] as pg.QueryResult),
    );
    expect(rows[0]).toEqual({
      projector_facts: true,
      projector_sink_tables: false,
      projector_writes_erasures: false,
      sink_tables: true,
      sink_feed: true,
      sink_pointer: true,
      sink_projection_table: false,
      analytics_view: true,
      analytics_feed: false,
      barrier: true,
    });
    // A second run changes nothing.
    out.length = 0;
    expect(await runMigrate([], { out: (t) => out.push(t), err: (t) => err.push(t), env })).toBe(0);
    expect(out.join("")).toBe("migrations: up to date\n");
  });
});
