import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type PrivatePostgres, postgresBinDir, startPrivatePostgres } from "@sbs/infra/private-postgres";
import { createPool } from "@sbs/shared";
import { testStack, uniqueName, waitFor } from "@sbs/shared/testing";
import type { Pool } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { recordsInTopic, silent, waitForMailboxes, waitForProcessed } from "./testing/int-setup.ts";
import { accounted, foldedRows, viewRows } from "./testing/projection-rows.ts";

/**
 * kill -9 of PostgreSQL (the whole cluster) under a live projector that commits asynchronously
 * (DATABASE_SYNCHRONOUS_COMMIT=false): the crash loses the commits still in the WAL buffers, so
 * the stored positions go back while the projector's Kafka consumer is already past them. The
 * projector (its own process) must retry until the cluster is back, then rewind to the positions
 * Postgres kept and replay what was lost: oracles B and E on the private database at the end.
 */

const CYCLES = 3;
const bin = postgresBinDir();

describe.skipIf(bin === undefined)(
  bin === undefined
    ? "postgres kill -9 (skipped: no initdb/postgres under /usr/lib/postgresql/*/bin)"
    : "postgres kill -9 under a live projector",
  () => {
    let db: PrivatePostgres;
    let pool: Pool;
    let log: TestEventLog;
    let child: ChildProcess | undefined;
    const topic = uniqueName("proj-pgcrash");

    beforeAll(async () => {
      // The WAL writer flushes asynchronous commits every wal_writer_delay (default 200 ms): with
      // 10 s, a kill loses up to the last 10 s of commits, so every cycle really loses some.
      db = await startPrivatePostgres({ settings: { wal_writer_delay: "10000", wal_writer_flush_after: "1GB" } });
      pool = createPool({ url: db.url, applicationName: "projector-int", max: 2 });
      // The test's own idle clients die with the cluster; the next query reconnects.
      pool.on("error", () => {});
      const stack = testStack();
      log = await openTestEventLog({
        brokers: stack.kafkaBrokers,
        registryUrl: stack.schemaRegistryUrl,
        topic,
        partitions: 4,
        logger: silent,
      });
    });
    afterAll(async () => {
      child?.kill("SIGKILL");
      await log?.close();
      await pool?.end().catch(() => {});
      await db?.stop();
    });

    it(`recovers from ${CYCLES} kills of the cluster into a projection equal to the fold, every record counted once`, async () => {
      const stack = testStack();
      const history = generateHistory({ seed: 47, events: 6000, customers: 150, prefix: "pgk" });
      // The private cluster's default database and schema, not the shared stack's.
      const { DATABASE_SCHEMA: _shared, ...inherited } = process.env;
      const env = {
        ...inherited,
        KAFKA_BROKERS: stack.kafkaBrokers.join(","),
        SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
        DATABASE_URL: db.url,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: uniqueName("proj-pgcrash-group"),
        HTTP_HOST: "127.0.0.1",
        HTTP_PORT: "0",
        LOG_LEVEL: "silent",
        RETRY_BASE_MS: "50",
        RETRY_MAX_MS: "1000",
        KAFKA_SESSION_TIMEOUT_MS: "10000",
        SUPERVISE_INTERVAL_MS: "1000",
        MIGRATE_ON_START: "true",
        DATABASE_SYNCHRONOUS_COMMIT: "false",
        // The fact cache must notice the commits the crash lost (its marker goes back with them).
        FACT_CACHE_CUSTOMERS: "100000",
        // Small fetches: many small transactions, so each kill lands among them.
        FETCH_MAX_BYTES_PER_PARTITION: "65536",
      };
      const head = history.slice(0, 500);
      await log.append(head);
      const script = fileURLToPath(new URL("./testing/run-projector.ts", import.meta.url));
      const proc = spawn(process.execPath, ["--import", "tsx", script], { env, stdio: ["ignore", "ignore", "pipe"] });
      child = proc;
      let stderr = "";
      proc.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      let exitedEarly: string | undefined;
      proc.once("exit", (code, signal) => {
        exitedEarly = `projector exited (${code ?? signal}): ${stderr}`;
      });
      await waitForProcessed(pool, 1, topic, head.length, 60_000);

      // Steady produce in the background: small chunks with pauses, until told to flush the rest.
      let produced = head.length;
      let flush = false;
      const producing = (async () => {
        while (produced < history.length) {
          const size = flush ? history.length - produced : 25;
          const chunk = history.slice(produced, produced + size);
          await log.append(chunk);
          produced += chunk.length;
          if (!flush) await new Promise((r) => setTimeout(r, 80));
        }
      })();

      const next = async () => (await accounted(pool, 1, topic).catch(() => ({ next: -1 }))).next;
      const cycles: { before: number; after: number }[] = [];
      try {
        for (let i = 0; i < CYCLES; i++) {
          const from = await next();
          await waitFor(
            "the projector to make progress",
            async () => {
              if (exitedEarly) throw new Error(exitedEarly);
              return (await next()) >= from + 600 ? true : undefined;
            },
            60_000,
          );
          // The positions are read with the projector frozen (SIGSTOP), so that what the crash
          // lost is seen before the projector commits again; between the freezes it runs
          // against the dead cluster and must keep retrying.
          proc.kill("SIGSTOP");
          const before = await next();
          await db.kill9();
          proc.kill("SIGCONT");
          await new Promise((r) => setTimeout(r, 1500));
          proc.kill("SIGSTOP");
          await db.restart();
          const after = await next();
          proc.kill("SIGCONT");
          cycles.push({ before, after });
        }
      } finally {
        flush = true;
        await producing;
      }
      // The fault was real: a kill lost committed (unflushed) positions, at least once; without
      // that the rewind path would go untested. Not every kill does: the WAL writer flushes every
      // 200 ms, and a kill just after a flush loses nothing (seen in 2 of 5 runs for one cycle).
      for (const c of cycles) expect(c.after).toBeLessThanOrEqual(c.before);
      expect(cycles.filter((c) => c.after < c.before).length).toBeGreaterThan(0);

      const records = await recordsInTopic(log.kafka, topic);
      expect(records).toBeGreaterThanOrEqual(history.length);
      await waitFor(
        `the projector to process all ${records} records`,
        async () => {
          if (exitedEarly) throw new Error(exitedEarly);
          return (await next()) >= records ? true : undefined;
        },
        90_000,
      );
      expect(exitedEarly).toBeUndefined();
      // Refunds and disputes keyed apart from their charge, and catalog changes, reach the
      // customers they concern through the mailbox.
      await waitForMailboxes(pool, 1);
      // Oracle B: the projection equals the pure fold of every event produced.
      expect(await viewRows(pool)).toEqual(foldedRows(history));
      // Oracle E: every record counted once, up to the stored next offsets, partition by partition.
      expect(await accounted(pool, 1, topic)).toEqual({ applied: records, deadLettered: 0, next: records });
      const { rows } = await pool.query<{ partition: number; next_offset: string; counted: string }>(
        `SELECT partition, next_offset, (applied_count + dead_lettered_count)::text AS counted
         FROM processed_offset WHERE generation = 1 AND topic = $1 ORDER BY partition`,
        [topic],
      );
      for (const r of rows)
        expect({ partition: r.partition, counted: r.counted }).toEqual({
          partition: r.partition,
          counted: r.next_offset,
        });
      const halts = await pool.query("SELECT partition, reason FROM partition_halt");
      expect(halts.rows).toEqual([]);
    }, 180_000);
  },
);
