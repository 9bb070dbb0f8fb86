import { migrate } from "@sbs/shared";
import { uniqueName, waitFor, withClient } from "@sbs/shared/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import type { ProjectorConfig } from "./config.ts";
import { charge, customer, event } from "./domain/stripe-test-events.ts";
import { scrubRetired } from "./erasure/generations.ts";
import { runRebuild } from "./rebuild.ts";
import { MIGRATIONS_DIR } from "./runtime.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { isolatedProjectorEnv, silent, waitForProcessed } from "./testing/int-setup.ts";
import { tablesHolding } from "./testing/pii-scan.ts";

/**
 * Issue #16 on the real stack: the analytics view is a security barrier, a deleted customer leaves
 * no personal data in any table of any generation, and the projector (live and rebuild) works as
 * its DML-only role after the owner migrated.
 */

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog;
let asRole: ProjectorConfig;
const running: Projector[] = [];

beforeAll(async () => {
  world = await isolatedProjectorEnv("privacy");
  const schema = world.config.database.schema;
  await migrate({ url: world.stack.databaseUrl, dir: MIGRATIONS_DIR, logger: silent, ...(schema ? { schema } : {}) });
  const roleUrl = world.stack.serviceDatabaseUrls?.projector;
  if (roleUrl === undefined) throw new Error("the test stack has no service roles (infra/stack/roles.ts)");
  asRole = { ...world.config, database: { ...world.config.database, url: roleUrl, migrateOnStart: false } };
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions: 2,
    logger: silent,
  });
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await log?.close();
  await world?.dispose();
});

const schemaName = () => world.config.database.schema as string;

describe("the analytics role", () => {
  it("sees only live rows through customer_metrics, even with a leaky function of its own", async () => {
    const s = pg.escapeIdentifier(schemaName());
    await world.pool.query(`INSERT INTO projection_generation (generation, state) VALUES (90, 'retired')`);
    const row = (generation: number, id: string, email: string) =>
      world.pool.query(
        `INSERT INTO customer_projection (generation, customer_id, email, deleted, metadata, payment_count, total_spent,
           average_order_value, failed_payment_count, refunded_total, dispute_count, mrr, churned)
         VALUES ($1, $2, $3, false, '{}', 0, '{}', '{}', 0, '{}', 0, '{}', false)`,
        [generation, id, email],
      );
    await row(1, "cus_live", "live@example.com");
    await row(90, "cus_retired", "retired-secret@example.com");

    const reader = uniqueName("t_analytics").replaceAll("-", "_");
    await world.pool.query(`CREATE ROLE ${reader} LOGIN IN ROLE sbs_analytics`);
    const readerUrl = new URL(world.stack.databaseUrl);
    readerUrl.username = reader;
    // What a reader can do: create a pg_temp function that reports every value it is given, made
    // cheap so the planner evaluates it as early as it is allowed to.
    const leak = async () =>
      withClient(readerUrl.toString(), async (c) => {
        const seen: string[] = [];
        c.on("notice", (n) => seen.push(n.message ?? ""));
        await c.query(`SET search_path = ${s}`);
        await c.query(
          `CREATE FUNCTION pg_temp.leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
           $$ BEGIN RAISE NOTICE 'leak: %', t; RETURN true; END $$`,
        );
        const { rows } = await c.query<{ customer_id: string }>(
          "SELECT customer_id FROM customer_metrics WHERE pg_temp.leak(email)",
        );
        const direct = await c.query("SELECT email FROM customer_projection").then(
          () => "readable",
          (e: { code?: string }) => e.code,
        );
        return { rows: rows.map((r) => r.customer_id), seen, direct };
      });
    try {
      const barrier = await leak();
      expect(barrier.rows).toEqual(["cus_live"]);
      expect(barrier.seen).toEqual(["leak: live@example.com"]);
      expect(barrier.direct).toBe("42501"); // insufficient_privilege: the tables are not granted

      // The same reader against the view without the barrier (before migration 0004): the retired
      // generation's email reaches the function. This is what the barrier prevents.
      await world.pool.query("ALTER VIEW customer_metrics RESET (security_barrier)");
      const leaky = await leak();
      expect(leaky.rows).toEqual(["cus_live"]);
      expect(leaky.seen).toContain("leak: retired-secret@example.com");
    } finally {
      await world.pool.query("ALTER VIEW customer_metrics SET (security_barrier = true)");
      await world.pool.query(`DROP ROLE ${reader}`);
      await world.pool.query("DELETE FROM customer_projection WHERE generation IN (1, 90)");
      await world.pool.query("DELETE FROM projection_generation WHERE generation = 90");
    }
  });
});

describe("the projector's own role", () => {
  it("has DML on the projector's tables and nothing more", async () => {
    const login = new URL(asRole.database.url).username;
    const { rows } = await world.pool.query(
      `SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
              has_schema_privilege($1, current_schema(), 'CREATE') AS create_in_schema,
              has_table_privilege($1, 'fact_customer', 'INSERT, UPDATE, DELETE, SELECT') AS facts,
              has_table_privilege($1, 'fact_customer', 'TRUNCATE') AS truncate,
              has_table_privilege($1, 'erased_id', 'SELECT') AS read_erasures,
              has_table_privilege($1, 'erased_id', 'INSERT') AS write_erasures
       FROM pg_roles r WHERE r.rolname = $1`,
      [login],
    );
    expect(rows[0]).toEqual({
      rolsuper: false,
      rolcreaterole: false,
      rolcreatedb: false,
      rolbypassrls: false,
      create_in_schema: false,
      facts: true,
      truncate: false,
      read_erasures: true,
      write_erasures: false,
    });
  });
});

describe("a deleted customer", () => {
  const email = "grace.deleted@example.com";
  const late = "late.deleted@example.com";
  // The address (issue #20: country and city in the read model) is personal data too.
  const city = "Arlingtonvilleburg";
  const lateCity = "Lateshire-on-Sea";
  const personal = {
    email,
    name: "Grace Hopper",
    phone: "+1 555 0100",
    metadata: { crm: "g-1" },
    address: { country: "US", city },
  };

  it("leaves no email in any table of any generation (live, rebuilt, and retired then scrubbed)", async () => {
    const t = 1_700_000_000;
    const history = [
      event("customer.created", t, customer("cus_del", personal)),
      event("charge.succeeded", t + 10, charge("ch_del", "cus_del")),
      event("customer.deleted", t + 20, customer("cus_del", personal)),
      event(
        "customer.created",
        t,
        customer("cus_late", { email: late, name: "Late", address: { country: "GB", city: lateCity } }),
      ),
      event("customer.created", t, customer("cus_kept", { email: "kept@example.com" })),
    ];
    await log.append(history);
    const projector = createProjector(asRole, { logger: silent });
    running.push(projector);
    await projector.start();
    await waitForProcessed(world.pool, 1, world.topic, history.length);
    expect(await tablesHolding(world.pool, email)).toEqual([]);
    expect(await tablesHolding(world.pool, "Grace Hopper")).toEqual([]);
    expect(await tablesHolding(world.pool, city)).toEqual([]);
    // Still counted: the deleted customer keeps its row (deleted, blank) and its metrics.
    const { rows } = await world.pool.query(
      "SELECT deleted, email, payment_count FROM customer_metrics WHERE customer_id = 'cus_del'",
    );
    expect(rows).toEqual([{ deleted: true, email: null, payment_count: 1 }]);

    // A rebuild as the projector's role: generation 2 goes live, generation 1 retires.
    const rebuilt = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 60_000 },
      { config: asRole, logger: silent, err: { write: () => true } },
    );
    expect(rebuilt.switched).toBe(true);
    await waitFor("the live projector to follow the pointer", async () =>
      projector.generation === rebuilt.generation ? true : undefined,
    );
    expect(await tablesHolding(world.pool, email)).toEqual([]);

    // Deleted after the switch: the retired generation, frozen, still has the email until the
    // scrub that `pnpm cli generations --prune` runs carries the deletion into it.
    const deletion = [event("customer.deleted", t + 30, customer("cus_late", { email: late }))];
    await log.append(deletion);
    await waitForProcessed(world.pool, rebuilt.generation, world.topic, history.length + 1);
    expect(await tablesHolding(world.pool, late)).toEqual(["customer_projection", "fact_customer"]);
    expect(await tablesHolding(world.pool, lateCity)).toEqual(["customer_projection", "fact_customer"]);
    await withClient(world.stack.databaseUrl, async (c) => {
      await c.query(`SET search_path = ${pg.escapeIdentifier(schemaName())}`);
      expect(await scrubRetired(c, rebuilt.previous ?? 1)).toBe(2);
    });
    expect(await tablesHolding(world.pool, late)).toEqual([]);
    expect(await tablesHolding(world.pool, lateCity)).toEqual([]);
    expect(await tablesHolding(world.pool, "kept@example.com")).not.toEqual([]);
  });
});
