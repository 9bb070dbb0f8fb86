import { createLogger, createPool, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateAll } from "../migrate/migrate-all.ts";
import { runGenerations } from "./command.ts";

/**
 * `pnpm cli generations` on real Postgres: retired generations past the retention are dropped
 * (every row of theirs), the kept ones get later deletions carried in, and the live one is never
 * dropped.
 */
const stack = testStack();
let schema: Awaited<ReturnType<typeof isolatedSchema>>;
let pool: Pool;

beforeAll(async () => {
  schema = await isolatedSchema(stack.databaseUrl);
  await migrateAll(stack.databaseUrl, schema.schema, createLogger({ service: "gen-int", level: "silent" }));
  pool = createPool({ url: stack.databaseUrl, schema: schema.schema, applicationName: "generations-int" });
  // g1 live from 30 days ago until g2 took over 20 days ago; g2 until g3 took over an hour ago.
  await pool.query(
    `UPDATE projection_generation SET state = 'retired', switched_at = now() - interval '30 days' WHERE generation = 1`,
  );
  await pool.query(`INSERT INTO projection_generation (generation, state, switched_at) VALUES
    (2, 'retired', now() - interval '20 days'), (3, 'live', now() - interval '1 hour')`);
  await pool.query("UPDATE projection_pointer SET generation = 3");
  const row = (g: number, id: string, email: string | null, deleted: boolean) =>
    pool.query(
      `INSERT INTO customer_projection (generation, customer_id, email, name, deleted, metadata, payment_count, total_spent,
         average_order_value, failed_payment_count, refunded_total, dispute_count, mrr, churned)
       VALUES ($1, $2, $3, $3, $4, '{}', 0, '{}', '{}', 0, '{}', 0, '{}', false)`,
      [g, id, email, deleted],
    );
  for (const g of [1, 2]) {
    await row(g, "cus_gone", "gone@example.com", false);
    await row(g, "cus_here", "here@example.com", false);
  }
  await row(3, "cus_gone", null, true);
  await row(3, "cus_here", "here@example.com", false);
});
afterAll(async () => {
  await pool?.end();
  await schema?.drop();
});

const run = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const env = { DATABASE_URL: stack.databaseUrl, DATABASE_SCHEMA: schema.schema };
  const code = await runGenerations(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { code, out: out.join(""), err: err.join("") };
};

describe("pnpm cli generations", () => {
  it("lists, prunes past the retention, scrubs what it keeps, and never drops the live one", async () => {
    const listed = JSON.parse((await run(["--json"])).out) as { generation: number; state: string; stalePii: number }[];
    expect(listed.map((g) => [g.generation, g.state, g.stalePii])).toEqual([
      [1, "retired", 1],
      [2, "retired", 1],
      [3, "live", 0],
    ]);

    const pruned = await run(["--prune", "--keep-days", "7"]);
    expect(pruned.code).toBe(0);
    // g1 was replaced 20 days ago: dropped. g2 an hour ago: kept, with cus_gone's deletion carried in.
    expect(pruned.err).toContain("dropped g1");
    expect(pruned.err).toContain("kept g2");
    const { rows } = await pool.query(
      "SELECT generation, customer_id, email, deleted FROM customer_projection ORDER BY generation, customer_id",
    );
    expect(rows).toEqual([
      { generation: 2, customer_id: "cus_gone", email: null, deleted: true },
      { generation: 2, customer_id: "cus_here", email: "here@example.com", deleted: false },
      { generation: 3, customer_id: "cus_gone", email: null, deleted: true },
      { generation: 3, customer_id: "cus_here", email: "here@example.com", deleted: false },
    ]);
    expect((await pool.query("SELECT generation FROM projection_generation ORDER BY 1")).rows).toEqual([
      { generation: 2 },
      { generation: 3 },
    ]);

    await expect(run(["--drop", "3"])).rejects.toThrow("generation 3 is live");
    expect((await run(["--drop", "2"])).code).toBe(0);
    expect((await pool.query("SELECT count(*)::int AS n FROM customer_projection WHERE generation = 2")).rows).toEqual([
      { n: 0 },
    ]);
  });
});
