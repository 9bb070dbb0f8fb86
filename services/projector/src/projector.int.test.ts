import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { migrate } from "@sbs/shared";
import { waitFor } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import { DLQ_HEADER } from "./consumer/dead-letter-headers.ts";
import { runRebuild } from "./rebuild.ts";
import { MIGRATIONS_DIR } from "./runtime.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, silent, waitForProcessed } from "./testing/int-setup.ts";
import { accounted, foldedRows, viewRows } from "./testing/projection-rows.ts";

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog;
const running: Projector[] = [];

beforeAll(async () => {
  world = await isolatedProjectorEnv("live");
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions: 3,
    logger: silent,
  });
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await log?.close();
  await world?.dispose();
});

describe("migrations", () => {
  it("apply, re-apply as a no-op, and grant the analytics role read access to the view only", async () => {
    const url = world.stack.databaseUrl;
    const schema = world.config.database.schema;
    const dir = MIGRATIONS_DIR;
    expect(await migrate({ url, dir, ...(schema ? { schema } : {}), logger: silent })).toEqual([
      "0001_projection",
      "0002_contiguity_and_change_feed",
      "0004_privacy_and_roles",
      "0006_mrr_history",
      "0007_connector_attributes",
      "0008_partition_parallel",
      "0009_derive_request_append_only",
      "0010_catalog_request",
      "0011_slot_marker",
    ]);
    expect(await migrate({ url, dir, ...(schema ? { schema } : {}), logger: silent })).toEqual([]);
    const { rows } = await world.pool.query<{ view: boolean; table: boolean }>(
      `SELECT has_table_privilege('sbs_analytics', 'customer_metrics', 'SELECT') AS view,
              has_table_privilege('sbs_analytics', 'customer_projection', 'SELECT') AS table`,
    );
    expect(rows[0]).toEqual({ view: true, table: false });
  });
});

describe("live projection", () => {
  it("equals the in-memory fold of the topic, with poison records dead-lettered exactly once", async () => {
    const history = generateHistory({ seed: 11, events: 3000, customers: 60, prefix: "live" });
    await log.append(history.slice(0, 1500));
    const notJson = await log.envelopeOf("{not json", "evt_poison_json");
    const notEvent = await log.envelopeOf(JSON.stringify({ id: "evt_poison_event", data: {} }), "evt_poison_event");
    await log.appendRaw([
      { key: "platform:cus_live1", value: Buffer.from("definitely not avro") },
      { key: "platform:cus_live2", value: notJson, headers: { event_id: "evt_poison_json" } },
      { key: "platform:cus_live3", value: notEvent },
    ]);
    await log.append(history.slice(1500));
    const total = history.length + 3;

    const projector = createProjector(world.config, { logger: silent });
    running.push(projector);
    await projector.start();
    await waitForProcessed(world.pool, 1, world.topic, total);

    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    // Oracle E: every record is applied or dead-lettered, never both.
    expect(await accounted(world.pool, 1, world.topic)).toEqual({
      applied: history.length,
      deadLettered: 3,
      next: total,
    });

    const dlq = await readAll(world.config.kafka.dlqTopic, 3);
    expect(dlq.map((m) => m.headers[DLQ_HEADER.errorClass]).sort()).toEqual([
      "avro_decode",
      "invalid_event",
      "payload_json",
    ]);
    for (const m of dlq) {
      expect(m.headers[DLQ_HEADER.topic]).toBe(world.topic);
      expect(m.headers[DLQ_HEADER.attempts]).toBe("3");
      expect(m.key).toBe(`${world.topic}:${m.headers[DLQ_HEADER.partition]}:${m.headers[DLQ_HEADER.offset]}`);
    }
    expect(dlq.find((m) => m.headers[DLQ_HEADER.errorClass] === "avro_decode")?.value).toBe("definitely not avro");
    expect(dlq.find((m) => m.headers[DLQ_HEADER.errorClass] === "payload_json")?.headers["event_id"]).toBe(
      "evt_poison_json",
    );

    const metrics = await projector.metrics.registry.getSingleMetricAsString("projector_dead_letters_total");
    expect(metrics).toContain('error_class="avro_decode"} 1');

    // Restarting replays nothing: same rows, no new dead letters.
    await projector.stop();
    const again = createProjector(world.config, { logger: silent });
    running.push(again);
    await again.start();
    await log.append(history.slice(0, 200)); // duplicates change nothing
    await waitForProcessed(world.pool, 1, world.topic, total + 200);
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    expect(await readAll(world.config.kafka.dlqTopic, 3)).toHaveLength(3);
    await again.stop();

    // A rebuild (folded in memory, bulk-loaded) meets the poison records again: it counts them,
    // publishes nothing, and its generation equals the fold.
    const progress: string[] = [];
    const rebuilt = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 0 },
      { config: world.config, logger: silent, err: { write: (t: string) => progress.push(t) } },
    );
    expect(progress.join("")).toContain("folded in memory");
    expect(rebuilt).toMatchObject({ generation: 2, switched: true, records: total + 200 });
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    expect(await accounted(world.pool, 2, world.topic)).toEqual({
      applied: history.length + 200,
      deadLettered: 3,
      next: total + 200,
    });
    expect(await readAll(world.config.kafka.dlqTopic, 3)).toHaveLength(3);
  });
});

async function readAll(topic: string, atLeast: number) {
  const consumer = log.kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: { key: string; value: string; headers: Record<string, string> }[] = [];
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push({
        key: message.key?.toString() ?? "",
        value: message.value?.toString() ?? "",
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
      });
    },
  });
  await waitFor(`${atLeast} records in ${topic}`, async () => (seen.length >= atLeast ? true : undefined));
  // Anything published twice would arrive with the rest.
  await new Promise((r) => setTimeout(r, 1500));
  await consumer.disconnect();
  return seen;
}

describe("kill -9 mid-batch", () => {
  it("restarts into a projection equal to the fold of the topic", async () => {
    const killWorld = await isolatedProjectorEnv("kill");
    const killLog = await openTestEventLog({
      brokers: killWorld.stack.kafkaBrokers,
      registryUrl: killWorld.stack.schemaRegistryUrl,
      topic: killWorld.topic,
      partitions: 4,
      logger: silent,
    });
    const history = generateHistory({ seed: 5, events: 40_000, customers: 2000, prefix: "kill", padded: true });
    await killLog.append(history);
    const script = fileURLToPath(new URL("./testing/run-projector.ts", import.meta.url));
    // Small fetches make many batches, so the kill lands mid-stream.
    const env = { ...process.env, ...killWorld.env, FETCH_MAX_BYTES_PER_PARTITION: "262144" };
    const startChild = () => spawn(process.execPath, ["--import", "tsx", script], { env, stdio: "ignore" });
    try {
      for (let round = 0; round < 3; round++) {
        const child: ChildProcess = startChild();
        const before = (await accounted(killWorld.pool, 1, killWorld.topic).catch(() => ({ next: 0 }))).next;
        await waitFor(
          "some progress",
          async () => {
            const now = await accounted(killWorld.pool, 1, killWorld.topic).catch(() => ({ next: 0 }));
            return now.next > before + 2000 ? true : undefined;
          },
          60_000,
        );
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      }
      const last = startChild();
      try {
        await waitForProcessed(killWorld.pool, 1, killWorld.topic, history.length, 120_000);
        expect(await viewRows(killWorld.pool)).toEqual(foldedRows(history));
        expect(await accounted(killWorld.pool, 1, killWorld.topic)).toEqual({
          applied: history.length,
          deadLettered: 0,
          next: history.length,
        });
      } finally {
        last.kill("SIGKILL");
      }
    } finally {
      await killLog.close();
      await killWorld.dispose();
    }
  }, 240_000);
});
