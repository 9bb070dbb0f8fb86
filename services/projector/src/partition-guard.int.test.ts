import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@sbs/shared/testing";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import { commands } from "./commands/index.ts";
import { loadProjectorConfig } from "./config.ts";
import { customer, event, type RawEvent } from "./domain/stripe-test-events.ts";
import { runRebuild } from "./rebuild.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, silent, waitForProcessed } from "./testing/int-setup.ts";
import { foldedRows, viewRows } from "./testing/projection-rows.ts";

/**
 * What the projector does when its stored positions no longer describe the log: it halts the
 * partition with the reason and the fix, never skipping silently, and goes on with the others.
 */

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog | undefined;
const running: Projector[] = [];
const servers: Server[] = [];

const FAST = { SUPERVISE_INTERVAL_MS: "300" };

beforeEach(async () => {
  world = await isolatedProjectorEnv("guard");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
  await log?.close();
  log = undefined;
  for (const s of servers.splice(0)) s.close();
  await world?.dispose();
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

const openLog = async (partitions: number) => {
  await log?.close();
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions,
    logger: silent,
  });
  return log;
};

const startProjector = async (env: Record<string, string> = {}) => {
  const projector = createProjector(loadProjectorConfig({ ...world.env, ...FAST, ...env }), { logger: silent });
  running.push(projector);
  await projector.start();
  return projector;
};

const stopAll = async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
};

/** Deletes the test topic and creates it again, empty (deletion completes asynchronously). */
const recreateTopic = async (partitions: number) => {
  const kafka = (await openLog(partitions)).kafka;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [world.topic] });
    await waitFor("the topic to be deleted", async () =>
      (await admin.listTopics()).includes(world.topic) ? undefined : true,
    );
  } finally {
    await admin.disconnect();
  }
  for (let attempt = 0; ; attempt++) {
    try {
      return await openLog(partitions);
    } catch (error) {
      if (attempt > 20) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
};

const haltRows = async () =>
  (
    await world.pool.query<{ partition: number; reason: string; detail: string }>(
      "SELECT partition, reason, detail FROM partition_halt ORDER BY partition",
    )
  ).rows;

const offsets = async () =>
  (
    await world.pool.query<{ partition: number; next_offset: string }>(
      "SELECT partition, next_offset FROM processed_offset WHERE generation = 1 ORDER BY partition",
    )
  ).rows;

describe("partition guards", () => {
  it("a topic recreated with fewer records halts every partition past its end, says why, and skips nothing", async () => {
    const history = generateHistory({ seed: 5, events: 400, customers: 20, prefix: "rec" });
    await (await openLog(2)).append(history);
    let projector = await startProjector();
    await waitForProcessed(world.pool, 1, world.topic, history.length);
    const rowsBefore = await viewRows(world.pool);
    const offsetsBefore = await offsets();
    await stopAll();

    await (await recreateTopic(2)).append(generateHistory({ seed: 6, events: 20, customers: 4, prefix: "new" }));
    projector = await startProjector();
    const address = await projector.listen();
    await waitFor("both partitions to halt", async () => (projector.halted.length === 2 ? true : undefined));
    expect(projector.halted.map((h) => h.reason)).toEqual(["ahead_of_log", "ahead_of_log"]);
    expect(projector.halted[0]?.detail).toContain("pnpm cli rebuild");
    await waitFor("the halts to be recorded", async () => ((await haltRows()).length === 2 ? true : undefined));

    const health = await fetch(`http://127.0.0.1:${address.port}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { halted: unknown[] }).halted).toHaveLength(2);
    const metrics = await (await fetch(`http://127.0.0.1:${address.port}/metrics`)).text();
    expect(metrics).toMatch(/projector_partition_halted\{topic="[^"]+",partition="0",reason="ahead_of_log"\} 1/);
    expect(metrics).not.toMatch(/projector_lag_records\{/);

    // Nothing moved: the old positions and rows stand until an operator rebuilds.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await offsets()).toEqual(offsetsBefore);
    expect(await viewRows(world.pool)).toEqual(rowsBefore);
  });

  it("a topic recreated with as many records but other ones halts on the last applied record's identity", async () => {
    const history = generateHistory({ seed: 7, events: 60, customers: 5, prefix: "idn" });
    await (await openLog(1)).append(history);
    await startProjector();
    await waitForProcessed(world.pool, 1, world.topic, history.length);
    await stopAll();

    await (await recreateTopic(1)).append(generateHistory({ seed: 8, events: 90, customers: 5, prefix: "oth" }));
    const projector = await startProjector();
    await waitFor("the partition to halt", async () => (projector.halted.length === 1 ? true : undefined));
    expect(projector.halted[0]).toMatchObject({ partition: 0, reason: "topic_identity" });
    expect(projector.halted[0]?.detail).toContain(`holds a different record at offset ${history.length - 1}`);
    expect(await offsets()).toEqual([{ partition: 0, next_offset: String(history.length) }]);
  });

  it("records deleted before they were applied halt the partition until accept-gap records the gap; it then resumes", async () => {
    const history = generateHistory({ seed: 9, events: 120, customers: 8, prefix: "del" });
    const l = await openLog(1);
    await l.append(history);
    const admin = l.kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: [world.topic] });
    await admin.deleteTopicRecords({ topic: world.topic, partitions: [{ partition: 0, offset: "40" }] });
    await admin.disconnect();

    const projector = await startProjector();
    await waitFor("the partition to halt", async () => (projector.halted.length === 1 ? true : undefined));
    expect(projector.halted[0]).toMatchObject({ reason: "below_log_start" });
    expect(projector.halted[0]?.detail).toContain("offsets 0..39");
    expect(await offsets()).toEqual([]);

    const out: string[] = [];
    const err: string[] = [];
    const io = {
      env: { ...world.env },
      out: { write: (t: string) => out.push(t) },
      err: { write: (t: string) => err.push(t) },
    };
    expect(await commands["accept-gap"].run(["--partition", "0"], io)).toBe(0);
    expect(out.join("")).toContain("offsets 0..39 accepted as a gap");

    await waitForProcessed(world.pool, 1, world.topic, history.length);
    await waitFor("the partition to resume", async () => (projector.halted.length === 0 ? true : undefined));
    expect(await viewRows(world.pool)).toEqual(foldedRows(history.slice(40)));
    const { rows } = await world.pool.query("SELECT from_offset, to_offset, reason FROM offset_gap");
    expect(rows).toEqual([{ from_offset: "0", to_offset: "39", reason: "accepted: deleted from the log" }]);
    // Accepting again is refused: nothing is halted.
    expect(await commands["accept-gap"].run(["--partition", "0"], io)).toBe(1);

    // A rebuild folds the log as it is now, saying (and recording) where it starts.
    const progress: string[] = [];
    const rebuilt = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 0 },
      { config: world.config, logger: silent, err: { write: (t: string) => progress.push(t) } },
    );
    expect(rebuilt).toMatchObject({ generation: 2, switched: true, records: 80 });
    expect(progress.join("")).toContain("starts at offset 40: offsets 0..39 were deleted from the log");
    expect(await viewRows(world.pool)).toEqual(foldedRows(history.slice(40)));
    const gaps = await world.pool.query("SELECT generation, from_offset, to_offset FROM offset_gap ORDER BY 1");
    expect(gaps.rows).toEqual([
      { generation: 1, from_offset: "0", to_offset: "39" },
      { generation: 2, from_offset: "0", to_offset: "39" },
    ]);
  });
});

describe("schema registry outages", () => {
  /** A registry in front of the real one that forgets schema ids (or everything). */
  const registryProxy = async (forget: "ids" | "everything") => {
    const upstream = world.stack.schemaRegistryUrl;
    const server = createServer((req, res) => {
      const path = req.url ?? "/";
      if (forget === "everything" || path.startsWith("/schemas/ids/")) {
        res.writeHead(404, { "content-type": "application/vnd.schemaregistry.v1+json" });
        res.end(JSON.stringify({ error_code: 40403, message: "Schema not found" }));
        return;
      }
      fetch(`${upstream}${path}`, { method: req.method ?? "GET" }).then(
        async (r) => {
          res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
          res.end(await r.text());
        },
        () => {
          res.writeHead(502);
          res.end();
        },
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it("a registry without the envelope subject is refused at start, naming the setting to check", async () => {
    await (await openLog(1)).append(generateHistory({ seed: 3, events: 10, customers: 2, prefix: "reg" }));
    const url = await registryProxy("everything");
    await expect(startProjector({ SCHEMA_REGISTRY_URL: url })).rejects.toThrow(/has no subject .*SCHEMA_REGISTRY_URL/);
  });

  it("a registry that cannot resolve schema ids blocks the partition: nothing is dead-lettered or skipped", async () => {
    await (await openLog(1)).append(generateHistory({ seed: 4, events: 30, customers: 3, prefix: "ids" }));
    const url = await registryProxy("ids");
    const projector = await startProjector({ SCHEMA_REGISTRY_URL: url });
    await waitFor("the lookups to fail as transient", async () => {
      const failures = (await projector.metrics.transientErrors.get()).values.find(
        (v) => v.labels.code === "schema_not_registered",
      );
      return (failures?.value ?? 0) >= 2 ? true : undefined;
    });
    expect(await offsets()).toEqual([]);
    const dead = await world.pool.query("SELECT count(*)::int AS n FROM dead_letter");
    expect(dead.rows[0]).toEqual({ n: 0 });
    expect((await projector.metrics.records.get()).values.every((v) => v.value === 0)).toBe(true);
  });
});

describe("text Postgres cannot store", () => {
  it("U+0000 and an unpaired surrogate in a customer's fields are stored as U+FFFD; the event is applied", async () => {
    const raw: RawEvent = event(
      "customer.created",
      1_700_000_000,
      customer("cus_nul", { name: "Ada\u0000Lovelace", metadata: { "k\u0000": "v\ud800" } }),
      { id: "evt_nul" },
    );
    await (await openLog(1)).append([raw]);
    await startProjector();
    await waitForProcessed(world.pool, 1, world.topic, 1);
    const { rows } = await world.pool.query("SELECT name, metadata FROM customer_metrics");
    expect(rows).toEqual([{ name: "Ada\uFFFDLovelace", metadata: { "k\uFFFD": "v\uFFFD" } }]);
    const dead = await world.pool.query("SELECT count(*)::int AS n FROM dead_letter");
    expect(dead.rows[0]).toEqual({ n: 0 });
  });
});
