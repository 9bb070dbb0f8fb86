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
