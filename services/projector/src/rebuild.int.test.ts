import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import { runRebuild } from "./rebuild.ts";
import { livePointer } from "./store/positions.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, silent, waitForProcessed } from "./testing/int-setup.ts";
import { accounted, foldedRows, viewRows } from "./testing/projection-rows.ts";

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog;
let live: Projector | undefined;

beforeAll(async () => {
  world = await isolatedProjectorEnv("rebuild");
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions: 3,
    logger: silent,
  });
});
afterAll(async () => {
  await live?.stop();
  await log?.close();
  await world?.dispose();
});

describe("rebuild", () => {
  it("builds a new generation equal to the live projection, switches, and the live projector follows", async () => {
    const history = generateHistory({ seed: 23, events: 4000, customers: 100, prefix: "rb" });
    const first = history.slice(0, 3000);
    await log.append(first);
    live = createProjector(world.config, { logger: silent });
    await live.start();
    await waitForProcessed(world.pool, 1, world.topic, first.length);
    const before = await viewRows(world.pool);
    expect(before).toEqual(foldedRows(first));

    const progress: string[] = [];
    const result = await runRebuild(
      { fresh: false, switch: true, progressIntervalMs: 0 },
      { config: world.config, logger: silent, err: { write: (t: string) => progress.push(t) } },
    );
    expect(result).toMatchObject({ generation: 2, previous: 1, switched: true, records: first.length });
    expect(progress.join("")).toMatch(/rebuild g2: \d+\/3000 records, \d+\/s, (ETA|elapsed)/);
    expect(await livePointer(world.pool)).toBe(2);
    // A pure rebuild changes nothing a reader can see.
    expect(await viewRows(world.pool)).toEqual(before);
    const { rows } = await world.pool.query("SELECT generation, state FROM projection_generation ORDER BY generation");
    expect(rows).toEqual([
      { generation: 1, state: "retired" },
      { generation: 2, state: "live" },
    ]);

    // The live projector continues in generation 2 from the rebuild's offsets.
    await log.append(history.slice(3000));
    await waitForProcessed(world.pool, 2, world.topic, history.length);
    expect(live.generation).toBe(2);
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    expect(await accounted(world.pool, 2, world.topic)).toEqual({
      applied: history.length,
      deadLettered: 0,
      next: history.length,
    });
  }, 120_000);

  it("past its memory budget, the in-memory fold gives up and the rebuild continues batch by batch, with progress", async () => {
    const history = generateHistory({ seed: 23, events: 4000, customers: 100, prefix: "rb" });
    const progress: string[] = [];
    const result = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 0 },
      {
        config: { ...world.config, rebuildMemoryBudgetBytes: 1 },
        logger: silent,
        err: { write: (t: string) => progress.push(t) },
      },
    );
    const text = progress.join("");
    expect(text).toContain("over the budget of 0 MB (REBUILD_MEMORY_BUDGET_MB); rebuilding batch by batch instead");
    expect(text).toMatch(/rebuild g3: \d+\/4000 records, \d+\/s, elapsed/);
    expect(result).toMatchObject({ generation: 3, switched: true });
    await waitForProcessed(world.pool, 3, world.topic, history.length);
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
  }, 120_000);
});
