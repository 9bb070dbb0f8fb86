import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import { loadProjectorConfig } from "./config.ts";
import { runRebuild } from "./rebuild.ts";
import { livePointer } from "./store/positions.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, recordsInTopic, silent, waitForProcessed } from "./testing/int-setup.ts";
import { accounted, foldedRows, viewRows } from "./testing/projection-rows.ts";

/**
 * Rebuilds that switch the pointer while the live projector is consuming under steady produce:
 * each switch moves the live projector to a generation whose positions the rebuild wrote, with
 * batches of the old generation in flight. Nothing may be lost or applied twice across the
 * switches (oracles B and E on the generation that is live at the end).
 */

const SWITCHES = 6;
const PARTITIONS = 6;

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog;
let live: Projector | undefined;

beforeAll(async () => {
  world = await isolatedProjectorEnv("switch");
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions: PARTITIONS,
    logger: silent,
  });
});
afterAll(async () => {
  await live?.stop();
  await log?.close();
  await world?.dispose();
});

describe("rebuild switches under steady produce", () => {
  it(`switches ${SWITCHES} times while the live projector consumes; the live generation equals the fold and accounts for every record once`, async () => {
    const history = generateHistory({ seed: 31, events: 4000, customers: 120, prefix: "sw" });
    const head = history.slice(0, 800);
    await log.append(head);
    // Small fetches make many small batches, so switches land between (and during) them; a short
    // supervise interval follows the pointer soon even between batches.
    const config = loadProjectorConfig({
      ...world.env,
      FETCH_MAX_BYTES_PER_PARTITION: "16384",
      SUPERVISE_INTERVAL_MS: "500",
    });
    live = createProjector(config, { logger: silent });
    await live.start();
    await waitForProcessed(world.pool, 1, world.topic, head.length);

    // Steady produce in the background: small chunks with pauses, until told to flush the rest.
    let produced = head.length;
    let flush = false;
    const producing = (async () => {
      while (produced < history.length) {
        const size = flush ? history.length - produced : 20;
        const chunk = history.slice(produced, produced + size);
        await log.append(chunk);
        produced += chunk.length;
        if (!flush) await new Promise((r) => setTimeout(r, 60));
      }
    })();

    const switched: { generation: number; records: number; producedAt: number }[] = [];
    try {
      for (let i = 0; i < SWITCHES; i++) {
        const result = await runRebuild(
          { fresh: true, switch: true, progressIntervalMs: 60_000 },
          { config, logger: silent, err: { write: () => {} } },
        );
        expect(result).toMatchObject({ generation: i + 2, switched: true });
        switched.push({ generation: result.generation, records: result.records, producedAt: produced });
      }
    } finally {
      flush = true;
      await producing;
    }
    // Every switch happened while records were still being produced (otherwise this test proves less).
    expect(switched.filter((s) => s.producedAt < history.length)).toHaveLength(SWITCHES);

    // The live projector wrote into the generations between the switches (past what each rebuild
    // loaded): the switches met a projector that was consuming, not an idle one.
    const continued: number[] = [];
    for (const s of switched.slice(0, -1)) {
      const { next } = await accounted(world.pool, s.generation, world.topic);
      if (next > s.records) continued.push(s.generation);
    }
    expect(continued.length).toBeGreaterThan(0);

    const generation = await livePointer(world.pool);
    expect(generation).toBe(SWITCHES + 1);
    const records = await recordsInTopic(log.kafka, world.topic);
    expect(records).toBeGreaterThanOrEqual(history.length);
    await waitForProcessed(world.pool, generation, world.topic, records, 60_000);
    expect(live.generation).toBe(generation);
    expect(live.halted).toEqual([]);

    // Oracle B: the live view equals the pure fold of every event produced.
    expect(await viewRows(world.pool)).toEqual(foldedRows(history));
    // Oracle E: every record counted once, applied or dead-lettered, up to the stored next offsets.
    expect(await accounted(world.pool, generation, world.topic)).toEqual({
      applied: records,
      deadLettered: 0,
      next: records,
    });
    const { rows } = await world.pool.query<{ partition: number; next_offset: string; counted: string }>(
      `SELECT partition, next_offset, (applied_count + dead_lettered_count)::text AS counted
       FROM processed_offset WHERE generation = $1 AND topic = $2 ORDER BY partition`,
      [generation, world.topic],
    );
    expect(rows).toHaveLength(PARTITIONS);
    for (const r of rows)
      expect({ partition: r.partition, counted: r.counted }).toEqual({
        partition: r.partition,
        counted: r.next_offset,
      });
  }, 150_000);
});
