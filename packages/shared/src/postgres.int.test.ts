import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { createPool, migrate, migrationsTableFor } from "./postgres.ts";
import { isolatedSchema, testStack } from "./testing/index.ts";

const stack = testStack();
const logger = createLogger({ service: "test", level: "silent" });
const dir = fileURLToPath(new URL("./testing/fixtures/migrations", import.meta.url));
let isolated: Awaited<ReturnType<typeof isolatedSchema>>;

beforeAll(async () => {
  isolated = await isolatedSchema(stack.databaseUrl);
});
afterAll(() => isolated?.drop());

describe(`migrations on real PostgreSQL ${stack.versions.postgres}`, () => {
  it("apply in order, then re-apply as a no-op", async () => {
    const first = await migrate({ url: stack.databaseUrl, dir, schema: isolated.schema, logger });
    expect(first).toEqual(["0001_widgets", "0002_widget_color"]);
    expect(await migrate({ url: stack.databaseUrl, dir, schema: isolated.schema, logger })).toEqual([]);

    const pool = createPool({ url: stack.databaseUrl, schema: isolated.schema, applicationName: "test" });
    try {
      await pool.query("INSERT INTO widgets (id) VALUES ('w1')");
      const { rows } = await pool.query<{ id: string; color: string }>("SELECT id, color FROM widgets");
      expect(rows).toEqual([{ id: "w1", color: "blue" }]);
      expect(migrationsTableFor(dir)).toBe("pgmigrations_fixtures");
      const ran = await pool.query("SELECT name FROM pgmigrations_fixtures ORDER BY id");
      expect(ran.rows.map((r) => r.name)).toEqual(["0001_widgets", "0002_widget_color"]);
    } finally {
      await pool.end();
    }
  });

  it("keep one history per service, so services sharing a schema do not trip over each other", async () => {
    const shared = await isolatedSchema(stack.databaseUrl);
    try {
      expect(await migrate({ url: stack.databaseUrl, dir, schema: shared.schema, logger })).toHaveLength(2);
      const other = { url: stack.databaseUrl, dir, schema: shared.schema, logger, table: "pgmigrations_other" };
      // The same files under another service's name would run again: here they fail on the
      // existing table, which proves the histories are separate.
      await expect(migrate(other)).rejects.toThrow(/widgets/);
    } finally {
      await shared.drop();
    }
  });

  it("apply exactly once when several instances start at the same time", async () => {
    const other = await isolatedSchema(stack.databaseUrl);
    try {
      const runs = await Promise.all(
        Array.from({ length: 4 }, () => migrate({ url: stack.databaseUrl, dir, schema: other.schema, logger })),
      );
      expect(runs.flat().sort()).toEqual(["0001_widgets", "0002_widget_color"]);
    } finally {
      await other.drop();
    }
  });
});

describe("a pool whose idle client loses its connection", () => {
  it("survives it (no unhandled 'error' event), tells onIdleError and serves the next query", async () => {
    const failures: Error[] = [];
    const pool = createPool({
      url: stack.databaseUrl,
      applicationName: "test-idle-error",
      max: 1,
      onIdleError: (error) => failures.push(error),
    });
    const admin = createPool({ url: stack.databaseUrl, applicationName: "test-admin", max: 1 });
    try {
      const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      // The client is idle in the pool now; its backend goes away as in a Postgres restart.
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      for (let i = 0; i < 100 && failures.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(failures.map((e) => (e as { code?: string }).code)).toEqual(["57P01"]);
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
      await admin.end();
    }
  });
});
