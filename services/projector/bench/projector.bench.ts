/**
 * Projector benchmark, on the real stack (`ensureTestStack`, as the ingest bench):
 *   1. sustained events/s from the topic to committed Postgres state (live projector, in process),
 *      beside it the ceiling: plain batched upserts of the same fact and customer rows;
 *   2. the time to rebuild a generation from the whole topic (target < 90 s for 1M events).
 * Run: `pnpm --filter @sbs/projector bench`. BENCH_EVENTS (1000000), BENCH_CUSTOMERS (100000),
 * BENCH_PARTITIONS (6). Topics and the Postgres schema it creates are deleted at the end, except
 * with BENCH_TOPIC=<name>: that topic is filled on the first run and kept, and later runs with the
 * same name and BENCH_* settings skip producing (two minutes of a run). BENCH_REBUILD=0 skips the
 * rebuild; FETCH_MAX_BYTES_PER_PARTITION and PARTITIONS_CONCURRENCY are passed to the projector.
 */
import { randomBytes } from "node:crypto";
import { PerformanceObserver } from "node:perf_hooks";
import { ensureTestStack } from "@sbs/infra";
import { createLogger, createPool, writeFigure } from "@sbs/shared";
import type { Kafka } from "kafkajs";
import pg from "pg";
import { createProjector } from "../src/app.ts";
import { loadProjectorConfig } from "../src/config.ts";
import { catalogOf, customerFactsOf, deriveCustomer, foldAll } from "../src/domain/index.ts";
import { decodeAll, type RawEvent } from "../src/domain/stripe-test-events.ts";
import { applyPhaseMs } from "../src/projection/apply-events.ts";
import { runRebuild } from "../src/rebuild.ts";
import { writeProjections } from "../src/store/customer-store.ts";
import { writeFacts } from "../src/store/fact-store.ts";
import { createGeneration } from "../src/store/positions.ts";
import { FACT_KINDS, STATE_KEY } from "../src/store/tables.ts";
import { openTestEventLog } from "../src/testing/event-log.ts";
import { generateHistory } from "../src/testing/history.ts";

const env = process.env;
const EVENTS = Number(env["BENCH_EVENTS"] ?? 1_000_000);
const CUSTOMERS = Number(env["BENCH_CUSTOMERS"] ?? 100_000);
const PARTITIONS = Number(env["BENCH_PARTITIONS"] ?? 6);
// Share of events that update a shared price, product or coupon. The generator's test default
// (0.05) changes each of its 16 catalog objects thousands of times per million events; a real
// account changes its catalog a few times a month against thousands of customer events a day.
// 0.0002 (≈ 200 catalog updates per 1M events, each object ≈ 12 times) is still generous.
// BENCH_CATALOG_CHURN=0.05 reproduces the stress mix.
const CATALOG_CHURN = Number(env["BENCH_CATALOG_CHURN"] ?? 0.0002);
const KEPT_TOPIC = env["BENCH_TOPIC"];
const REBUILD = env["BENCH_REBUILD"] !== "0";
const say = (line: string) => console.error(`[bench] ${line}`);
const figure = (
  name: string,
  value: number,
  unit: string,
  baseline: number | null,
  extra: Record<string, unknown> = {},
) => {
  const ratio = baseline ? Number((value / baseline).toFixed(3)) : null;
  writeFigure({
    bench: "projector",
    figure: name,
    value: Number(value.toFixed(1)),
    unit,
    baseline,
    ratio,
    ...extra,
  });
};

/** Plain batched multi-row upserts of the final fact and customer rows (no Kafka, no fold): events/s equivalent. */
async function measureCeiling(pool: pg.Pool, history: readonly RawEvent[]): Promise<number> {
  const state = foldAll(decodeAll(history));
  const catalog = catalogOf(state);
  const rows = customerFactsOf(state).map((facts) => ({ model: deriveCustomer(facts, catalog), catalogRefs: [] }));
  const ceilingGen = await createGeneration(pool);
  const client = await pool.connect();
  const batch = 2000;
  const ceilingStart = performance.now();
  let factRows = 0;
  for (const kind of FACT_KINDS) {
    const entries = [...state[STATE_KEY[kind]].entries()];
    factRows += entries.length;
    for (let i = 0; i < entries.length; i += batch) {
      await client.query("BEGIN");
      await writeFacts(
        client,
        ceilingGen,
        new Map([[kind, entries.slice(i, i + batch).map(([id, fact]) => ({ id, fact }))]]),
      );
      await client.query("COMMIT");
    }
  }
  for (let i = 0; i < rows.length; i += batch) {
    await client.query("BEGIN");
    await writeProjections(client, ceilingGen, rows.slice(i, i + batch));
    await client.query("COMMIT");
  }
  const ceilingSeconds = (performance.now() - ceilingStart) / 1000;
  client.release();
  const ceilingRate = history.length / ceilingSeconds;
  say(
    `ceiling: ${factRows} fact rows + ${rows.length} customer rows upserted in ${ceilingSeconds.toFixed(1)} s (${Math.round(ceilingRate)} events/s equivalent)`,
  );
  return ceilingRate;
}

/** Sums garbage-collection pauses of this process from now on (seconds). */
function gcClock() {
  let ms = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) ms += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  return {
    reset: () => {
      ms = 0;
    },
    stop: () => {
      observer.disconnect();
      return ms / 1000;
    },
  };
}

/** Records in a topic (sum of high-water marks; the bench's topics are never compacted or trimmed). */
async function recordsIn(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function main() {
  const stack = await ensureTestStack(env, say);
  const { endpoints } = stack;
  // Logs go to stderr: stdout carries only the benchmark figures (JSON lines).
  const logger = createLogger({ service: "projector-bench", level: "warn", destination: process.stderr });
  const suffix = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
  const schema = `bench_${suffix}`;
  const topic = KEPT_TOPIC ?? `projector-bench-${suffix}`;
  const admin = new pg.Client({ connectionString: endpoints.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  const config = loadProjectorConfig({
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: endpoints.databaseUrl,
    DATABASE_SCHEMA: schema,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: `projector-bench-${suffix}`,
    HTTP_PORT: "0",
    LOG_LEVEL: "warn",
    ...Object.fromEntries(
      ["FETCH_MAX_BYTES_PER_PARTITION", "PARTITIONS_CONCURRENCY"].flatMap((k) =>
        env[k] === undefined ? [] : [[k, env[k]]],
      ),
    ),
  });
  const pool = createPool({ url: endpoints.databaseUrl, schema, applicationName: "projector-bench" });
  const log = await openTestEventLog({
    brokers: endpoints.kafkaBrokers,
    registryUrl: endpoints.schemaRegistryUrl,
    topic,
    partitions: PARTITIONS,
    logger,
  });
  try {
    say(`generating ${EVENTS} events over ${CUSTOMERS} customers (padded to realistic payload sizes)`);
    const history: RawEvent[] = generateHistory({
      seed: 42,
      events: EVENTS,
      customers: CUSTOMERS,
      padded: true,
      prefix: "b",
      spanSeconds: 86_400 * 30,
      catalogChurn: CATALOG_CHURN,
    });
    const mix = new Map<string, number>();
    for (const e of history) {
      const type = String(e["type"]);
      const kind = type.startsWith("customer.subscription")
        ? "subscription"
        : type.startsWith("customer.discount")
          ? "discount"
          : type.startsWith("charge.dispute")
            ? "dispute"
            : (type.split(".")[0] ?? type);
      mix.set(kind, (mix.get(kind) ?? 0) + 1);
    }
    const share = (k: string) => Number((((mix.get(k) ?? 0) / history.length) * 100).toFixed(3));
    const catalogShare = share("price") + share("product") + share("coupon");
    say(
      `event mix (% of events): ${[...mix.keys()]
        .sort()
        .map((k) => `${k} ${share(k)}`)
        .join(", ")}`,
    );
    const already = await recordsIn(log.kafka, topic);
    if (KEPT_TOPIC !== undefined && already === EVENTS) say(`reusing the ${EVENTS} records already in ${topic}`);
    else if (already > 0) throw new Error(`${topic} holds ${already} records, not ${EVENTS}: pick another BENCH_TOPIC`);
    else {
      const bytes = JSON.stringify(history.slice(0, 1000)).length / 1000;
      say(`producing to ${topic} (${PARTITIONS} partitions, ~${Math.round(bytes)} B per payload)`);
      const produceStart = performance.now();
      await log.append(history);
      say(`produced in ${((performance.now() - produceStart) / 1000).toFixed(1)} s`);
    }

    // 1. Live projector: topic → committed Postgres state.
    const projector = createProjector(config, { logger });
    const processed = async (generation: number) => {
      const { rows } = await pool
        .query<{ n: string }>("SELECT COALESCE(sum(next_offset), 0) AS n FROM processed_offset WHERE generation = $1", [
          generation,
        ])
        .catch(() => ({ rows: [{ n: "0" }] }));
      return Number(rows[0]?.n ?? 0);
    };
    await projector.start();
    let firstAt: number | undefined;
    let firstCount = 0;
    let loopAtFirst = performance.eventLoopUtilization();
    const gc = gcClock();
    for (;;) {
      const n = await processed(1);
      if (n > 0 && firstAt === undefined) {
        firstAt = performance.now();
        firstCount = n;
        loopAtFirst = performance.eventLoopUtilization();
        gc.reset();
      }
      if (n >= EVENTS) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const liveSeconds = (performance.now() - (firstAt ?? performance.now())) / 1000;
    const liveRate = (EVENTS - firstCount) / liveSeconds;
    const loop = performance.eventLoopUtilization(loopAtFirst);
    const gcSeconds = gc.stop();
    await projector.stop();
    say(
      `live projector: ${EVENTS - firstCount} events committed in ${liveSeconds.toFixed(1)} s (timed from the first commit seen, which already held ${firstCount} of the ${EVENTS})`,
    );
    // Where the projector process spent that time: waiting (for Postgres, Kafka) vs. running
    // JavaScript, and how much of the running was garbage collection.
    say(
      `live process: event loop idle ${(loop.idle / 1000).toFixed(1)} s, busy ${(loop.active / 1000).toFixed(1)} s, of which GC pauses ${gcSeconds.toFixed(1)} s`,
    );
    say(
      `live phases (ms, summed over batches): ${Object.entries(applyPhaseMs)
        .map(([k, v]) => `${k}=${Math.round(v)}`)
        .join(", ")}`,
    );

    // Ceiling: the same final rows, written with plain batched multi-row upserts, no Kafka, no fold.
    const ceilingRate = await measureCeiling(pool, history);
    // The rebuild runs in its own process in production: free the generated history first.
    history.length = 0;
    console.error(
      `sustained: ${Math.round(liveRate)} events/s topic → committed Postgres (target ≥ 20000), ceiling ${Math.round(ceilingRate)} events/s of plain upserts (${((liveRate / ceilingRate) * 100).toFixed(0)} %)`,
    );
    figure("sustained_events_per_s", liveRate, "events/s", Math.round(ceilingRate), {
      events: EVENTS,
      customers: CUSTOMERS,
      catalog_churn_pct: Number(catalogShare.toFixed(3)),
    });

    if (!REBUILD) return;
    // 2. Rebuild from offset 0 into a new generation.
    const rebuild = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 5000 },
      { config, logger, err: { write: (t: string) => process.stderr.write(`[bench] ${t}`) } },
    );
    console.error(
      `rebuild: ${rebuild.records} events in ${rebuild.seconds.toFixed(1)} s (${Math.round(rebuild.records / rebuild.seconds)} events/s; target < 90 s for 1M)`,
    );
    // Baselines: the target for the time, the same run's plain-upsert ceiling for the rate.
    figure("rebuild_seconds", rebuild.seconds, "s", 90, { events: rebuild.records, baseline_is: "target" });
    figure("rebuild_events_per_s", rebuild.records / rebuild.seconds, "events/s", Math.round(ceilingRate), {
      baseline_is: "plain upserts of the same rows, same run",
    });
  } finally {
    await log.close();
    const kafkaAdmin = log.kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin
      .deleteTopics({ topics: KEPT_TOPIC === undefined ? [topic, `${topic}.dlq`] : [`${topic}.dlq`] })
      .catch(() => {});
    await kafkaAdmin.disconnect();
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.end();
    await stack.teardown?.();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
