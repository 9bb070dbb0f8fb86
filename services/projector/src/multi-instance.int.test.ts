import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { uniqueName, waitFor } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, recordsInTopic, silent, waitForMailboxes } from "./testing/int-setup.ts";
import { accounted, foldedRows, viewRows } from "./testing/projection-rows.ts";

/**
 * Three live projector processes in one consumer group over one topic, while instances are
 * started, stopped (SIGTERM) and killed (SIGKILL) and events keep coming: every rebalance moves
 * partitions between instances, and a killed owner's batch may still be in flight. The history has refunds and disputes keyed apart
 * from their charges (some before the charge exists), guest charges, discounts keyed by their own
 * id, and a high share of catalog changes (some before the subscriptions that use them).
 * Oracle B: the projection equals the pure fold of the topic. Oracle E: every record counted once.
 */

type Env = Awaited<ReturnType<typeof isolatedProjectorEnv>>;

describe("three projector instances, started, stopped and killed", () => {
  let world: Env;
  let log: TestEventLog;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    world = await isolatedProjectorEnv("multi");
    log = await openTestEventLog({
      brokers: world.stack.kafkaBrokers,
      registryUrl: world.stack.schemaRegistryUrl,
      topic: world.topic,
      partitions: 6,
      logger: silent,
    });
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await log?.close();
    await world?.dispose();
  });

  it("projection == fold of the topic (B), every record counted once (E)", async () => {
    const history = generateHistory({
      seed: 1515,
      events: 9000,
      customers: 120,
      prefix: "mi",
      spanSeconds: 600,
      catalogChurn: 0.05,
    });
    const env = {
      ...process.env,
      ...world.env,
      KAFKA_GROUP_ID: uniqueName("proj-multi-group"),
      SUPERVISE_INTERVAL_MS: "1000",
      KAFKA_SESSION_TIMEOUT_MS: "6000",
      // Small fetches: many small transactions from every instance, interleaved.
      FETCH_MAX_BYTES_PER_PARTITION: "32768",
      PARTITIONS_CONCURRENCY: "3",
    };
    const script = fileURLToPath(new URL("./testing/run-projector.ts", import.meta.url));
    let failure: string | undefined;
    const start = () => {
      const child = spawn(process.execPath, ["--import", "tsx", script], { env, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-4000);
      });
      children.add(child);
      child.once("exit", (code, signal) => {
        children.delete(child);
        // Only an exit nobody asked for is a failure.
        if (signal !== "SIGKILL" && signal !== "SIGTERM" && code !== 0)
          failure = `projector exited (${code}): ${stderr}`;
      });
      return child;
    };
    const stop = async (child: ChildProcess | undefined, signal: "SIGTERM" | "SIGKILL") => {
      if (child === undefined || child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      await exited;
    };
    const next = async () => (await accounted(world.pool, 1, world.topic).catch(() => ({ next: -1 }))).next;
    const progressBy = async (records: number) => {
      const from = await next();
      await waitFor(
        `the projectors to apply ${records} more records`,
        async () => {
          if (failure) throw new Error(failure);
          return (await next()) >= from + records ? true : undefined;
        },
        60_000,
      );
    };

    await log.append(history.slice(0, 1000));
    let produced = 1000;
    let flush = false;
    const producing = (async () => {
      while (produced < history.length) {
        const size = flush ? history.length - produced : 60;
        await log.append(history.slice(produced, produced + size));
        produced += size;
        if (!flush) await new Promise((r) => setTimeout(r, 60));
      }
    })();
    try {
      const a = start();
      const b = start();
      const c = start();
      await progressBy(800);
      await stop(a, "SIGKILL"); // mid-transaction, likely: Postgres rolls it back
      await progressBy(600);
      const d = start();
      await progressBy(600);
      await stop(b, "SIGTERM");
      await progressBy(600);
      await stop(c, "SIGKILL");
      start();
      await progressBy(600);
      await stop(d, "SIGKILL");
      start();
    } finally {
      flush = true;
      await producing;
    }

    const records = await recordsInTopic(log.kafka, world.topic);
    expect(records).toBe(history.length);
    await waitFor(
      `the projectors to process all ${records} records`,
      async () => {
        if (failure) throw new Error(failure);
        return (await next()) >= records ? true : undefined;
      },
      120_000,
    );
    expect(failure).toBeUndefined();
    await waitForMailboxes(world.pool, 1);
    // Oracle B.
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    // Oracle E, in total and partition by partition.
    expect(await accounted(world.pool, 1, world.topic)).toEqual({ applied: records, deadLettered: 0, next: records });
    const { rows } = await world.pool.query<{ next_offset: string; counted: string }>(
      `SELECT next_offset, (applied_count + dead_lettered_count)::text AS counted
       FROM processed_offset WHERE generation = 1 AND topic = $1`,
      [world.topic],
    );
    for (const r of rows) expect(r.counted).toBe(r.next_offset);
  }, 300_000);
});
