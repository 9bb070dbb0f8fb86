/**
 * What erasure costs on a bench-sized topic (issue #16), on the real stack: one `erase` (erasure
 * list, every generation, sink tables; the settle wait left out), `compact-log`'s scan (dry run)
 * and copy, and a rebuild with a non-empty erasure list (every event checked, the switch-time
 * purge scan), each beside its same-run baseline: the same read with an empty erasure list, and a
 * rebuild of the same topic before anything was erased.
 * Run: `pnpm --filter @sbs/cli bench` (inside `flock /work/wt/heavy.lock` on a shared machine).
 * BENCH_TOPIC=<name> reads an existing topic (e.g. the projector bench's kept 1M topic) instead of
 * producing BENCH_EVENTS (1000000) events over BENCH_CUSTOMERS (100000); BENCH_ERASE (10)
 * customers are erased. Everything it creates (schema, topics) is deleted at the end.
 */
import { ensureTestStack } from "@sbs/infra";
import { runRebuild } from "@sbs/projector/commands";
import { loadProjectorConfig } from "@sbs/projector/config";
import { createRuntime } from "@sbs/projector/runtime";
import { openTestEventLog } from "@sbs/projector/testing/event-log";
import { generateHistory } from "@sbs/projector/testing/history";
import { createLogger, createPool, createSchemaRegistry } from "@sbs/shared";
import pg from "pg";
import { compactLog } from "../src/compact-log/compact.ts";
import { envelopePayload } from "../src/compact-log/payload.ts";
import { erase } from "../src/erase/erase.ts";
import { migrateAll } from "../src/migrate/migrate-all.ts";

const env = process.env;
const EVENTS = Number(env["BENCH_EVENTS"] ?? 1_000_000);
const CUSTOMERS = Number(env["BENCH_CUSTOMERS"] ?? 100_000);
const ERASE = Number(env["BENCH_ERASE"] ?? 10);
const say = (line: string) => console.error(`[bench] ${line}`);
const figure = (name: string, value: number, unit: string, baseline: number | null, extra = {}) => {
  console.log(
    JSON.stringify({
      bench: "privacy",
      figure: name,
      value: Number(value.toFixed(2)),
      unit,
      baseline: baseline === null ? null : Number(baseline.toFixed(2)),
      ratio: baseline ? Number((value / baseline).toFixed(3)) : null,
      ...extra,
    }),
  );
  say(`${name}: ${value.toFixed(2)} ${unit}${baseline === null ? "" : ` (baseline ${baseline.toFixed(2)} ${unit})`}`);
};
const seconds = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const result = await work();
  return [result, (performance.now() - t) / 1000];
};

const logger = createLogger({ service: "privacy-bench", level: "warn" });
const { endpoints, teardown } = await ensureTestStack(env, say);
const stamp = Date.now().toString(36);
const schema = `privacy_bench_${stamp}`;
const admin = new pg.Client({ connectionString: endpoints.databaseUrl });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const createdTopics: string[] = [];
const topic = env["BENCH_TOPIC"] ?? `privacy-bench-${stamp}`;
const baseEnv = {
  KAFKA_BROKERS: endpoints.kafkaBrokers.join(","),
  SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
  DATABASE_URL: endpoints.databaseUrl,
  DATABASE_SCHEMA: schema,
  KAFKA_TOPIC: topic,
  KAFKA_DLQ_TOPIC: `privacy-bench-${stamp}.dlq`,
  KAFKA_GROUP_ID: `privacy-bench-${stamp}`,
  MIGRATE_ON_START: "false",
  LOG_LEVEL: "warn",
};
createdTopics.push(baseEnv.KAFKA_DLQ_TOPIC);
const pool = createPool({ url: endpoints.databaseUrl, schema, applicationName: "privacy-bench" });
try {
  await migrateAll(endpoints.databaseUrl, schema, logger);
  if (env["BENCH_TOPIC"] === undefined) {
    createdTopics.push(topic);
    say(`generating and producing ${EVENTS} events over ${CUSTOMERS} customers to ${topic}`);
    const log = await openTestEventLog({
      brokers: endpoints.kafkaBrokers,
      registryUrl: endpoints.schemaRegistryUrl,
      topic,
      partitions: 6,
      logger,
    });
    await log.append(
      generateHistory({
        seed: 42,
        events: EVENTS,
        customers: CUSTOMERS,
        padded: true,
        prefix: "b",
        spanSeconds: 86_400 * 30,
        catalogChurn: 0.0002,
      }),
    );
    await log.close();
  }
  const config = loadProjectorConfig(baseEnv);
  const quiet = { write: () => true };
  const rebuild = (topicName: string) =>
    seconds(() =>
      runRebuild(
        { fresh: true, switch: true, progressIntervalMs: 3_600_000 },
        { config: { ...config, kafka: { ...config.kafka, topic: topicName } }, logger, err: quiet },
      ),
    );

  // Baseline rebuild: nothing erased yet.
  const [built, rebuildBase] = await rebuild(topic);
  say(`baseline rebuild of ${built.records} records: ${rebuildBase.toFixed(1)} s`);

  const runtime = createRuntime(config, { logger }, "privacy-bench");
  const payloadOf = envelopePayload(createSchemaRegistry(config.schemaRegistryUrl));
  await runtime.open();
  const scan = (dryRun: boolean, target: string) =>
    seconds(() =>
      compactLog(
        {
          source: topic,
          target,
          dryRun,
          progressIntervalMs: 3_600_000,
          replicationFactor: 1,
          groupId: `privacy-bench-${stamp}-${target}-${dryRun}`,
        },
        { kafka: runtime.kafka, payloadOf, erased: runtime.erasures, logger, say: () => {} },
      ),
    );
  const [, readBase] = await scan(true, "empty");

  // Erase customers that have the most history (the dearest case for the purge).
  const { rows } = await pool.query<{ id: string }>(
    `SELECT customer_id AS id FROM customer_projection p JOIN projection_pointer USING (generation)
     ORDER BY payment_count DESC, customer_id LIMIT $1`,
    [ERASE],
  );
  const timings: number[] = [];
  let removed = 0;
  for (const { id } of rows) {
    const [report, s] = await seconds(() =>
      erase(id, "bench", { projector: pool, sink: pool, deleteContact: undefined, settleMs: 0, say: () => {} }),
    );
    timings.push(s);
    removed += report.projectorRows.reduce((n, c) => n + c.rows, 0);
  }
  timings.sort((a, b) => a - b);
  figure(
    "erase, one customer (median, settle wait excluded)",
    timings[Math.floor(timings.length / 2)] ?? 0,
    "s",
    null,
    {
      customers: rows.length,
      rowsRemoved: removed,
      max: timings[timings.length - 1],
    },
  );
  await runtime.erasures.refresh();

  const [dry, dryS] = await scan(true, "dry");
  figure("compact-log --dry-run (scan, key + event check)", dryS, "s", readBase, {
    records: dry.records,
    dropped: dry.droppedByKey + dry.droppedByEvent,
  });
  const target = `${topic}.privacy-bench-${stamp}`;
  createdTopics.push(target);
  const [copy, copyS] = await scan(false, target);
  figure("compact-log copy (scan + produce acks=all)", copyS, "s", readBase, {
    kept: copy.kept,
    records: copy.records,
  });
  await runtime.close();

  const [, rebuildErased] = await rebuild(target);
  figure("rebuild from the compacted topic, erasure list non-empty", rebuildErased, "s", rebuildBase, {
    records: copy.kept,
  });
} finally {
  await pool.end();
  await admin.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
  await admin.end();
  const kafka = createRuntime(loadProjectorConfig(baseEnv), { logger }, "privacy-bench-cleanup").kafka;
  const a = kafka.admin();
  await a.connect();
  const existing = new Set(await a.listTopics());
  await a.deleteTopics({ topics: createdTopics.filter((t) => existing.has(t)) }).catch(() => {});
  await a.disconnect();
  await teardown?.();
}
