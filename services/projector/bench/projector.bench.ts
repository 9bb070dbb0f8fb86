/**
 * Projector benchmark, on the real stack (`ensureTestStack`, as the ingest bench). It prints, from one run:
 *   1. live, 1 instance: events/s from the topic to committed Postgres state, one projector process
 *      (`src/main.ts`, started as users start it) → figure `sustained_events_per_s`, beside it the
 *      ceiling (plain batched upserts of the same fact and customer rows, in the bench process) as
 *      its baseline; per instance its peak RSS (VmHWM), CPU time (utime + stime), event loop, GC
 *      pauses and apply phases in the timed window (the phases from `bench/probe.ts`, preloaded);
 *   2. live, 2 instances: the same topic from offset 0 into a fresh schema, two projector processes
 *      in one new consumer group → `sustained_events_per_s_2_instances` (baseline: 1 instance);
 *   3. the peak RSS of the projector processes → `projector_peak_rss_mib` (max over all instances,
 *      baseline the 1 GiB target), and the bench process's own peak (it holds the generated history);
 *   4. the time to rebuild a generation from the whole topic (target < 90 s for 1M events), in process.
 * The live phases are timed from the first commit seen to all events committed (`processed_offset`
 * of generation 1) and the mailboxes empty (derive and catalog requests: the customers reached
 * across partitions derived too); the window includes the group's rebalances, as a start of two instances would.
 * Run: `pnpm --filter @sbs/projector bench`. BENCH_EVENTS (1000000), BENCH_CUSTOMERS (100000),
 * BENCH_PARTITIONS (6). Topics and the Postgres schemas it creates are deleted at the end, except
 * with BENCH_TOPIC=<name>: that topic is filled on the first run and kept, and later runs with the
 * same name and BENCH_* settings skip producing (two minutes of a run). BENCH_TWO=0 skips the
 * 2-instance phase, BENCH_REBUILD=0 the rebuild; BENCH_CPU_PROFILE=1 profiles the 1-instance
 * projector and prints its CPU by module and function; BENCH_STALL_SECONDS (180) fails a live phase that
 * commits nothing for that long. FETCH_MAX_BYTES_PER_PARTITION and PARTITIONS_CONCURRENCY are passed
 * to the projector. Peak RSS and CPU time are read from /proc (Linux; elsewhere printed as n/a).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureTestStack } from "@sbs/infra";
import { createLogger, createPool, writeFigure } from "@sbs/shared";
import type { Kafka } from "kafkajs";
import pg, { type Pool } from "pg";
import { loadProjectorConfig } from "../src/config.ts";
import { catalogOf, customerFactsOf, deriveCustomer, foldAll } from "../src/domain/index.ts";
import { decodeAll, type RawEvent } from "../src/domain/stripe-test-events.ts";
import { runRebuild } from "../src/rebuild.ts";
import { writeProjections } from "../src/store/customer-store.ts";
import { writeFacts } from "../src/store/fact-store.ts";
import { createGeneration } from "../src/store/positions.ts";
import { FACT_KINDS, STATE_KEY } from "../src/store/tables.ts";
import { openTestEventLog } from "../src/testing/event-log.ts";
import { generateHistory } from "../src/testing/history.ts";
import { readCpuProfile, summarise } from "./cpu-profile.ts";
import { type BackendProfile, postgresCpuSeconds, sampleBackends } from "./postgres-profile.ts";
import { PROBE_PREFIX, type ProbeReport } from "./probe.ts";

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
const TWO = env["BENCH_TWO"] !== "0";
const STALL_MS = Number(env["BENCH_STALL_SECONDS"] ?? 180) * 1000;
const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));
const PROBE_URL = pathToFileURL(fileURLToPath(new URL("./probe.ts", import.meta.url))).href;
// As the start script (and `pnpm start`) runs the projector; the probe only listens for SIGUSR2 and exit.
const PROJECTOR_ARGS = ["--max-semi-space-size=64", "--import", "tsx", "--import", PROBE_URL, "src/main.ts"];
// BENCH_CPU_PROFILE=1: the 1-instance projector runs under V8's sampling profiler (slower by the
// profiler's overhead: compare its figures only with a run that also profiled) and the bench
// prints where its thread's CPU went.
const CPU_PROFILE = env["BENCH_CPU_PROFILE"] === "1";
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

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, seconds) of a process so far, from /proc/<pid>/stat; undefined off Linux. */
function cpuSecondsOf(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set (VmHWM, MiB) of a live process so far, from /proc/<pid>/status; undefined off Linux. */
function peakRssMiBOf(pid: number | undefined): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined ? "n/a" : n.toFixed(digits));

/** One projector process (`src/main.ts`), its output forwarded to stderr with its name. */
interface ProjectorProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Settles once the process exited and its output was read. */
  readonly closed: Promise<void>;
  /** Set when it exited without being asked to. */
  failure: string | undefined;
  stopping: boolean;
  probe: ProbeReport | undefined;
}

function startProjector(name: string, childEnv: NodeJS.ProcessEnv, profileDir?: string): ProjectorProcess {
  const profiling = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...profiling, ...PROJECTOR_ARGS], {
    cwd: PACKAGE_DIR,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  const p: ProjectorProcess = {
    name,
    child,
    closed: new Promise((resolve) => child.once("close", () => resolve())),
    failure: undefined,
    stopping: false,
    probe: undefined,
  };
  const lines = (stream: NodeJS.ReadableStream | null) => {
    let rest = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) {
        if (line.startsWith(PROBE_PREFIX)) {
          p.probe = JSON.parse(line.slice(PROBE_PREFIX.length)) as ProbeReport;
          continue;
        }
        if (line.trim() === "") continue;
        process.stderr.write(`[projector ${name}] ${line}\n`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      }
    });
  };
  lines(child.stdout);
  lines(child.stderr);
  child.once("error", (error) => {
    p.failure = `projector ${name} could not start: ${error.message}`;
  });
  child.once("exit", (code, signal) => {
    if (!p.stopping) p.failure = `projector ${name} exited (code ${code}, signal ${signal}):\n${tail.join("\n")}`;
  });
  return p;
}

/** SIGTERM (graceful: the batch in progress finishes or rolls back), SIGKILL after `graceMs`. */
async function stopProjector(p: ProjectorProcess, graceMs = 30_000): Promise<void> {
  p.stopping = true;
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      p.closed.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      say(`projector ${p.name} still running ${graceMs / 1000} s after SIGTERM: SIGKILL`);
      p.child.kill("SIGKILL");
    }
  }
  await p.closed;
}

interface InstanceFigures {
  readonly name: string;
  readonly pid: number | undefined;
  readonly peakRssMiB: number | undefined;
  /** CPU time in the timed window and since the process started. */
  readonly cpuSeconds: number | undefined;
  readonly cpuTotalSeconds: number | undefined;
  readonly probe: ProbeReport | undefined;
}

interface LivePhase {
  readonly rate: number;
  readonly seconds: number;
  readonly firstCount: number;
  readonly groupMembers: number | undefined;
  readonly instances: readonly InstanceFigures[];
  /** CPU of every Postgres process in the window (the machine's one server). */
  readonly postgresCpuSeconds: number | undefined;
  readonly backends: BackendProfile | undefined;
}

/**
 * Starts `count` projector processes with `childEnv`, waits until `processed()` reaches EVENTS, and
 * stops them. Timed from the first commit seen. Every process started is also put in `running`, for
 * the caller's `finally`.
 */
async function livePhase(
  label: string,
  count: number,
  childEnv: NodeJS.ProcessEnv,
  processed: () => Promise<{ readonly committed: number; readonly waiting: number }>,
  kafka: Kafka,
  running: Set<ProjectorProcess>,
  pool: Pool,
  profileDir?: string,
): Promise<LivePhase> {
  const procs = Array.from({ length: count }, (_, i) =>
    startProjector(count === 1 ? label : `${label}${String.fromCharCode(97 + i)}`, childEnv, profileDir),
  );
  for (const p of procs) running.add(p);
  const mark = () => {
    for (const p of procs) p.child.kill("SIGUSR2");
  };
  let firstAt: number | undefined;
  let firstCount = 0;
  let cpuAtFirst: (number | undefined)[] = [];
  let postgresAtFirst: number | undefined;
  let stopSampling: (() => Promise<BackendProfile>) | undefined;
  let last = "";
  let changedAt = performance.now();
  for (;;) {
    for (const p of procs) if (p.failure) throw new Error(p.failure);
    const { committed: n, waiting } = await processed();
    const now = performance.now();
    if (`${n}/${waiting}` !== last) {
      last = `${n}/${waiting}`;
      changedAt = now;
    } else if (now - changedAt > STALL_MS) {
      throw new Error(`live, ${label}: nothing committed for ${STALL_MS / 1000} s (${n} of ${EVENTS} events)`);
    }
    if (n > 0 && firstAt === undefined) {
      firstAt = now;
      firstCount = n;
      cpuAtFirst = procs.map((p) => cpuSecondsOf(p.child.pid));
      postgresAtFirst = postgresCpuSeconds(CLOCK_TICKS);
      stopSampling = sampleBackends(pool);
      mark();
    }
    // Done when every event is committed and no cross-partition request waits (the customers a
    // refund, dispute or catalog change reached through the mailboxes are derived).
    if (n >= EVENTS && waiting === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - (firstAt ?? performance.now())) / 1000;
  mark();
  if (firstCount >= EVENTS) say(`live, ${label}: the first commit seen already held all events; nothing was timed`);
  const cpuAtEnd = procs.map((p) => cpuSecondsOf(p.child.pid));
  const postgresAtEnd = postgresCpuSeconds(CLOCK_TICKS);
  const backends = await stopSampling?.();
  const peaks = procs.map((p) => peakRssMiBOf(p.child.pid));
  const groupMembers = await (async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([String(childEnv["KAFKA_GROUP_ID"])]);
      return groups[0]?.members.length;
    } catch {
      return undefined;
    } finally {
      await admin.disconnect();
    }
  })();
  await Promise.all(procs.map((p) => stopProjector(p)));
  for (const p of procs) running.delete(p);
  const instances = procs.map((p, i): InstanceFigures => {
    const end = cpuAtEnd[i];
    const start = cpuAtFirst[i];
    return {
      name: p.name,
      pid: p.child.pid,
      peakRssMiB: peaks[i],
      cpuSeconds: end === undefined || start === undefined ? undefined : end - start,
      cpuTotalSeconds: end,
      probe: p.probe,
    };
  });
  return {
    rate: (EVENTS - firstCount) / seconds,
    seconds,
    firstCount,
    groupMembers,
    instances,
    postgresCpuSeconds:
      postgresAtEnd === undefined || postgresAtFirst === undefined ? undefined : postgresAtEnd - postgresAtFirst,
    backends,
  };
}

/** The profiled projector's CPU by module and by function (self time, whole process). */
function describeCpuProfile(dir: string, pid: number | undefined) {
  const file = readdirSync(dir).find((f) => f.includes(`.${pid}.`) && f.endsWith(".cpuprofile"));
  if (file === undefined) {
    say(`  CPU profile: none written in ${dir} (the projector did not exit normally)`);
    return;
  }
  const summary = summarise(readCpuProfile(join(dir, file)));
  const list = (rows: readonly (readonly [string, number])[]) =>
    rows
      .map(([name, s]) => `${name} ${s.toFixed(1)} s (${((s / summary.totalSeconds) * 100).toFixed(0)} %)`)
      .join("; ");
  say(`  CPU profile (${join(dir, file)}), ${summary.totalSeconds.toFixed(1)} s on the thread, whole process:`);
  say(`    by module: ${list(summary.byModule)}`);
  say(`    by function: ${list(summary.byFunction)}`);
}

function describeLive(label: string, phase: LivePhase, note = "") {
  say(
    `live, ${label}: ${EVENTS - phase.firstCount} events committed in ${phase.seconds.toFixed(1)} s, ${Math.round(phase.rate)} events/s${note} (timed from the first commit seen, which already held ${phase.firstCount} of the ${EVENTS}; consumer group had ${phase.groupMembers ?? "?"} member(s) at the end)`,
  );
  for (const i of phase.instances) {
    // Where each process spent the window: waiting (for Postgres, Kafka) vs. running JavaScript,
    // and how much of the running was garbage collection (the probe's marks arrive when the event
    // loop gets to them, so its window can lag the bench's by up to a batch).
    const loop = i.probe?.timed
      ? `, event loop idle ${i.probe.idleSeconds.toFixed(1)} s, busy ${i.probe.busySeconds.toFixed(1)} s, of which GC pauses ${i.probe.gcSeconds.toFixed(1)} s`
      : "";
    say(
      `  projector ${i.name} (pid ${i.pid}): peak RSS ${fmt(i.peakRssMiB)} MiB, CPU ${fmt(i.cpuSeconds)} s in the window (${fmt(i.cpuTotalSeconds)} s since start)${loop}`,
    );
    if (i.probe?.timed)
      say(
        `  projector ${i.name} phases (ms, summed over batches): ${Object.entries(i.probe.phases)
          .map(([k, v]) => `${k}=${Math.round(v)}`)
          .join(", ")}`,
      );
  }
  // The other half of the machine: the server's CPU, and what the projector's connections waited on.
  const cores = availableParallelism();
  say(
    `  postgres: CPU ${fmt(phase.postgresCpuSeconds)} s in the window (${phase.postgresCpuSeconds === undefined ? "n/a" : ((phase.postgresCpuSeconds / phase.seconds) * 100).toFixed(0)} % of one core; the machine has ${cores})`,
  );
  if (phase.backends)
    say(
      `  postgres: the projector's connections (${phase.backends.connections.toFixed(1)} on average, ${phase.backends.samples} samples): ${phase.backends.shares
        .map(([state, share]) => `${state} ${share.toFixed(0)} %`)
        .join(", ")}`,
    );
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
  // The 2-instance phase projects the same topic again, into fresh state with its own group.
  const schemaTwo = `${schema}_two`;
  const topic = KEPT_TOPIC ?? `projector-bench-${suffix}`;
  const admin = new pg.Client({ connectionString: endpoints.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  if (TWO) await admin.query(`CREATE SCHEMA ${schemaTwo}`);
  const projectorEnv: Record<string, string> = {
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
  };
  // The in-process rebuild uses the same settings (and loading them checks them before anything starts).
  const config = loadProjectorConfig(projectorEnv);
  const childEnv = (overrides: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    ...projectorEnv,
    ...overrides,
    PROJECTOR_BENCH_PROBE: "1",
  });
  const pool = createPool({ url: endpoints.databaseUrl, schema, applicationName: "projector-bench" });
  const log = await openTestEventLog({
    brokers: endpoints.kafkaBrokers,
    registryUrl: endpoints.schemaRegistryUrl,
    topic,
    partitions: PARTITIONS,
    logger,
  });
  const running = new Set<ProjectorProcess>();
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

    // 1. Live projector, 1 instance (its own process): topic → committed Postgres state.
    const processed = (inSchema: string) => async () => {
      const { rows } = await pool
        .query<{ n: string; waiting: string }>(
          `SELECT (SELECT COALESCE(sum(next_offset), 0) FROM ${inSchema}.processed_offset WHERE generation = 1) AS n,
                  (SELECT count(*) FROM ${inSchema}.derive_request) + (SELECT count(*) FROM ${inSchema}.catalog_request) AS waiting`,
        )
        .catch(() => ({ rows: [{ n: "0", waiting: "1" }] }));
      return { committed: Number(rows[0]?.n ?? 0), waiting: Number(rows[0]?.waiting ?? 1) };
    };
    const profileDir = CPU_PROFILE ? mkdtempSync(join(tmpdir(), "projector-cpu-")) : undefined;
    const one = await livePhase("1", 1, childEnv(), processed(schema), log.kafka, running, pool, profileDir);
    describeLive("1 instance", one);
    if (profileDir !== undefined) describeCpuProfile(profileDir, one.instances[0]?.pid);

    // 2. Live projector, 2 instances in one consumer group, from offset 0 into a fresh schema.
    const two = TWO
      ? await livePhase(
          "2",
          2,
          childEnv({ DATABASE_SCHEMA: schemaTwo, KAFKA_GROUP_ID: `projector-bench-${suffix}-two` }),
          processed(schemaTwo),
          log.kafka,
          running,
          pool,
        )
      : undefined;
    if (two) describeLive("2 instances", two, `, ×${(two.rate / one.rate).toFixed(2)} of 1 instance`);

    // Ceiling: the same final rows, written with plain batched multi-row upserts, no Kafka, no fold.
    const ceilingRate = await measureCeiling(pool, history);
    // The rebuild runs in its own process in production: free the generated history first.
    history.length = 0;
    console.error(
      `sustained: ${Math.round(one.rate)} events/s topic → committed Postgres with 1 instance (target ≥ 15000)${two ? `, ${Math.round(two.rate)} events/s with 2 instances (×${(two.rate / one.rate).toFixed(2)})` : ""}, ceiling ${Math.round(ceilingRate)} events/s of plain upserts (1 instance: ${((one.rate / ceilingRate) * 100).toFixed(0)} %)`,
    );
    const [single] = one.instances;
    figure("sustained_events_per_s", one.rate, "events/s", Math.round(ceilingRate), {
      events: EVENTS,
      customers: CUSTOMERS,
      catalog_churn_pct: Number(catalogShare.toFixed(3)),
      instances: 1,
      ...(single?.cpuSeconds === undefined ? {} : { cpu_seconds: Number(single.cpuSeconds.toFixed(1)) }),
    });
    if (two)
      figure("sustained_events_per_s_2_instances", two.rate, "events/s", Math.round(one.rate), {
        events: EVENTS,
        customers: CUSTOMERS,
        instances: 2,
        group_members: two.groupMembers ?? null,
        cpu_seconds: two.instances.map((i) => (i.cpuSeconds === undefined ? null : Number(i.cpuSeconds.toFixed(1)))),
        baseline_is: "1 instance, same run",
      });
    const peaks = [...one.instances, ...(two?.instances ?? [])].flatMap((i) =>
      i.peakRssMiB === undefined ? [] : [i.peakRssMiB],
    );
    console.error(
      `peak RSS of the projector processes (VmHWM): 1 instance ${fmt(single?.peakRssMiB, 0)} MiB${two ? `; 2 instances ${two.instances.map((i) => `${fmt(i.peakRssMiB, 0)} MiB`).join(", ")}` : ""} (target ≤ 1024 MiB)`,
    );
    if (peaks.length > 0)
      figure("projector_peak_rss_mib", Math.max(...peaks), "MiB", 1024, {
        rss_1_instance_mib: single?.peakRssMiB === undefined ? null : Number(single.peakRssMiB.toFixed(1)),
        ...(two
          ? {
              rss_2_instances_mib: two.instances.map((i) =>
                i.peakRssMiB === undefined ? null : Number(i.peakRssMiB.toFixed(1)),
              ),
            }
          : {}),
        baseline_is: "target (1 GiB)",
      });

    if (REBUILD) {
      // 3. Rebuild from offset 0 into a new generation (in this process).
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
    }
    say(
      `bench process peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (generated history, ceiling${REBUILD ? ", in-process rebuild" : ""}; not a projector figure)`,
    );
  } finally {
    for (const p of running) {
      p.stopping = true;
      p.child.kill("SIGKILL");
    }
    await Promise.all([...running].map((p) => p.closed));
    await log.close();
    const kafkaAdmin = log.kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin
      .deleteTopics({ topics: KEPT_TOPIC === undefined ? [topic, `${topic}.dlq`] : [`${topic}.dlq`] })
      .catch(() => {});
    await kafkaAdmin.disconnect();
    await pool.end();
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${schemaTwo} CASCADE`);
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
