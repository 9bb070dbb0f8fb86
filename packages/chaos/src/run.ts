import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSinkConfigFile } from "@sbs/brevo-sink/config-file";
import { customerIdOf } from "@sbs/brevo-sink/envelope";
import { startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { brevoDiffersFromDesired } from "@sbs/brevo-sink/testing/oracle";
import { deliveryOrder } from "@sbs/cli/demo/deliver";
import { generateHistory } from "@sbs/cli/demo/history";
import { REPO_ROOT, waitForOk } from "@sbs/cli/start/services";
import { freePort } from "@sbs/infra";
import { decodeEvent, foldAll, readModels, toReadModelRow } from "@sbs/projector/domain";
import { livePointer } from "@sbs/projector/positions";
import { mailboxBacklog } from "@sbs/projector/slots";
import { prng } from "@sbs/projector/testing/history";
import { viewRows } from "@sbs/projector/testing/projection-rows";
import { createLogger } from "@sbs/shared";
import pg from "pg";
import { type ChaosOptions, replayCommand } from "./args.ts";
import { startDelivery } from "./delivery.ts";
import { runFaults } from "./faults.ts";
import { groundTruth } from "./ground-truth.ts";
import {
  type OracleResult,
  oracleA,
  oracleB,
  oracleC,
  oracleD,
  oracleE,
  owedCustomEvents,
  type PartitionAccount,
} from "./oracles.ts";
import { startPrivateStack } from "./private-stack.ts";
import { buildFigures, type ChaosFigures } from "./report.ts";
import { createResendCounter } from "./resends.ts";
import { countByKind, faultSchedule, type ServiceKind } from "./schedule.ts";
import { createSupervisor, type Instance } from "./supervisor.ts";
import { groupLag, highWaterMarks, openKafka, readTopic, recordCount } from "./topic.ts";

/**
 * One soak: private stack, supervised services, deliveries and faults together, quiescence, then
 * the oracles. Everything it starts it stops, whatever happens (a failed run leaves no process).
 */

const DAY = 86_400;
const HISTORY_DAYS = 365;
const DUPLICATE_RATE = 0.1;
const REORDER_WINDOW = 50;
const TOPIC = "stripe.events.test";
const SINK_EVENTS_GROUP = "brevo-sink-events";
const SECRET = "whsec_chaos_0123456789abcdef0123";
const INSTANCES: Readonly<Record<ServiceKind, number>> = { ingest: 1, projector: 2, sink: 2 };
const SESSION_TIMEOUT_MS = { projector: 10_000, sink: 30_000 } as const;

export interface ChaosRun {
  readonly figures: ChaosFigures;
  readonly oracles: readonly OracleResult[];
  readonly logs: string;
}

/** Environment of the harness minus what would point a service at another stack. */
function baseEnv(): Record<string, string | undefined> {
  const drop =
    /^(KAFKA_|DATABASE_|SCHEMA_|SINK_|BREVO_|STRIPE_|INGEST_|HTTP_|METRICS_|PROJECTION_|LOG_LEVEL$|NODE_OPTIONS$)/;
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !drop.test(k)));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
/** The customer of a Stripe event's object, by the sink's own rule. */
function customerOf(event: unknown): string | undefined {
  const object = isRecord(event) && isRecord(event["data"]) ? event["data"]["object"] : undefined;
  return isRecord(object) ? customerIdOf(object) : undefined;
}

async function eventLedger(pool: pg.Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ id: string; status: string }>(
    "SELECT stripe_event_id AS id, status FROM brevo_event_ledger",
  );
  return new Map(rows.map((r) => [r.id, r.status]));
}

export async function runChaos(o: ChaosOptions, say: (line: string) => void): Promise<ChaosRun> {
  const t0 = Date.now();
  const logs = o.logs ?? mkdtempSync(join(tmpdir(), "sbs-chaos-"));
  mkdirSync(logs, { recursive: true });
  say(`logs in ${logs}`);

  // --- the history and the order it is delivered in
  const start = Math.floor(Date.now() / 1000) - HISTORY_DAYS * DAY;
  const perCustomer = 24 * (1 + DUPLICATE_RATE);
  let customers = Math.max(10, Math.ceil(o.deliveries / perCustomer));
  let history = generateHistory({ customers, seed: o.seed, start, days: HISTORY_DAYS });
  let order = deliveryOrder(history, { reorderWindow: REORDER_WINDOW, duplicateRate: DUPLICATE_RATE, seed: o.seed });
  while (order.queue.length < o.deliveries) {
    customers = Math.ceil((customers * o.deliveries) / order.queue.length) + 1;
    history = generateHistory({ customers, seed: o.seed, start, days: HISTORY_DAYS });
    order = deliveryOrder(history, { reorderWindow: REORDER_WINDOW, duplicateRate: DUPLICATE_RATE, seed: o.seed });
  }
  say(`${history.length} events over ${customers} customers, ${order.queue.length} deliveries`);

  // Custom events: the later 40 % of the history is "live", the rest is history the sink must not send.
  const sendAfter = start + Math.floor(HISTORY_DAYS * 0.6) * DAY;
  const sinkConfigFile = join(logs, "sink.yaml");
  const sample = readFileSync(join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml"), "utf8");
  const withSendAfter = sample.replace(
    /^ {2}# send_after: .*$/m,
    `  send_after: "${new Date(sendAfter * 1000).toISOString()}"`,
  );
  if (withSendAfter === sample) throw new Error("sink.sample.yaml has no send_after line to set");
  writeFileSync(sinkConfigFile, withSendAfter);
  const sinkConfig = await loadSinkConfigFile(sinkConfigFile);

  const schedule = faultSchedule({
    seed: o.seed,
    durationMs: o.durationMs,
    warmupMs: Math.min(15_000, o.durationMs / 6),
    kills: o.kills,
    instances: INSTANCES,
    stops: o.stops,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    brokerKills: o.brokerKills,
    postgresKills: o.postgresKills,
    brevoFaults: o.brevoFaults,
    rebuilds: o.rebuilds,
  });

  const stack = await startPrivateStack(process.env, say);
  const fake = await startFakeBrevo({
    // A plan with headroom, so convergence is not throttled by the limit itself; storms are injected.
    rateLimits: {
      contacts: { perSecond: 50, perHour: 10_000_000 },
      events: { perSecond: 50, perHour: 10_000_000 },
      other: { perSecond: 20, perHour: 100_000 },
    },
    timeoutFaultMs: 4000,
    importDelayMs: 50,
  });
  const supervisor = createSupervisor({ restartDelayMs: 1000, say });
  const logger = createLogger({ service: "chaos", level: "silent" });
  const kafka = openKafka(stack.kafka.brokers, logger);
  const pool = new pg.Pool({ connectionString: stack.postgres.url, max: 2 });
  pool.on("error", () => {});
  let drain: NodeJS.Timeout | undefined;
  let tornDown: Promise<void> | undefined;
  const teardown = () => {
    tornDown ??= (async () => {
      if (drain) clearInterval(drain);
      await supervisor.stopAll();
      await pool.end().catch(() => {});
      await fake.close();
      await stack.dispose();
    })();
    return tornDown;
  };
  // Ctrl-C or a kill of the harness must not leave brokers, clusters or services behind.
  const interrupted = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping everything the run started`);
    void teardown().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  try {
    const [ingestPort, ingestMetricsPort] = [await freePort(), await freePort()];
    const common = {
      ...baseEnv(),
      KAFKA_BROKERS: stack.kafka.brokers.join(","),
      SCHEMA_REGISTRY_URL: stack.registry.url,
      DATABASE_URL: stack.postgres.url,
      KAFKA_SINGLE_NODE: "true",
      LOG_LEVEL: "info",
      HTTP_HOST: "127.0.0.1",
    };
    const projectorEnv = {
      ...common,
      HTTP_PORT: "0",
      KAFKA_TOPIC: TOPIC,
      KAFKA_GROUP_ID: "projector",
      KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS.projector),
      SUPERVISE_INTERVAL_MS: "1000",
      RETRY_BASE_MS: "100",
      RETRY_MAX_MS: "2000",
      // The in-memory fact cache (off by default) under kills, broker and Postgres faults.
      FACT_CACHE_CUSTOMERS: "100000",
    };
    const instances: Instance[] = [
      {
        name: "ingest-1",
        service: "ingest",
        logFile: join(logs, "ingest-1.log"),
        env: {
          ...common,
          HTTP_PORT: String(ingestPort),
          METRICS_PORT: String(ingestMetricsPort),
          STRIPE_WEBHOOK_SECRETS: `chaos=${SECRET}`,
          KAFKA_TOPIC_TEST: TOPIC,
          KAFKA_TOPIC_LIVE: `${TOPIC}.live`,
          KAFKA_TOPIC_PARTITIONS: "6",
          INGEST_WORKERS: "2",
        },
      },
      ...[1, 2].map((i) => ({
        name: `projector-${i}`,
        service: "projector" as const,
        logFile: join(logs, `projector-${i}.log`),
        env: projectorEnv,
      })),
      ...[1, 2].map((i) => ({
        name: `sink-${i}`,
        service: "brevo-sink" as const,
        logFile: join(logs, `sink-${i}.log`),
        env: {
          ...common,
          HTTP_PORT: "0",
          BREVO_API_KEY: fake.apiKey,
          BREVO_BASE_URL: fake.url,
          BREVO_TIMEOUT_S: "3",
          BREVO_RATE_PER_SECOND: "40",
          BREVO_RATE_PER_HOUR: "10000000",
          SINK_CONFIG_FILE: sinkConfigFile,
          SINK_EVENTS_TOPIC: TOPIC,
          SINK_EVENTS_GROUP_ID: SINK_EVENTS_GROUP,
          SINK_INTERVAL_MS: "1000",
          SINK_VERIFY_SAMPLE: "0",
        },
      })),
    ];
    // Ingest first: it creates the topic the others consume.
    supervisor.start(instances[0] as Instance);
    if (!(await waitForOk(`http://127.0.0.1:${ingestMetricsPort}/readyz`, 120_000)))
      throw new Error(`ingest did not become ready; see ${join(logs, "ingest-1.log")}`);
    for (const instance of instances.slice(1)) supervisor.start(instance);
    await waitUntil(
      "the projector's migrations",
      async () => (await pool.query("SELECT to_regclass('customer_metrics') IS NOT NULL AS ok")).rows[0]?.ok === true,
      120_000,
    );

    // The fake's log is folded into the figures as it grows, then emptied (it would hold every import body).
    const resends = createResendCounter();
    const brevoFaultsHit: Record<string, number> = {};
    const drainLog = () => {
      const entries = fake.log.slice();
      fake.resetLog();
      resends.add(entries);
      for (const e of entries) if (e.fault) brevoFaultsHit[e.fault] = (brevoFaultsHit[e.fault] ?? 0) + 1;
    };
    drain = setInterval(drainLog, 2000);

    // --- deliveries and faults, together
    const random = prng(o.seed ^ 0x5eed);
    const delivery = startDelivery(order.queue, {
      url: () => `http://127.0.0.1:${ingestPort}/webhooks/stripe`,
      secret: SECRET,
      concurrency: o.concurrency,
      spanMs: o.durationMs,
      requestTimeoutMs: 10_000,
      giveUpAfterMs: Math.max(o.quiesceTimeoutMs, 300_000),
      random,
    });
    let rebuilds = 0;
    const faults = runFaults({
      schedule,
      supervisor,
      stack,
      fake,
      instanceName: (service, i) => `${service}-${i + 1}`,
      rebuild: async () => {
        for (let attempt = 1; attempt <= 20; attempt++) {
          const log = join(logs, `rebuild-${++rebuilds}.log`);
          const code = await runCli(["rebuild"], projectorEnv, log);
          if (code === 0) return true;
          say(`rebuild exited ${code} (attempt ${attempt}; log ${log}); resuming it`);
          await sleep(3000);
        }
        return false;
      },
      say,
    });
    const progress = setInterval(() => {
      const s = delivery.stats;
      say(
        `${Math.round((Date.now() - t0) / 1000)} s: ${delivery.finished()}/${order.queue.length} delivered, ${s.attempts} attempts, 503 ${s.status503}, errors ${s.networkErrors}, faults ${Object.values(faults.applied).reduce((a, b) => a + b, 0)}/${schedule.length}`,
      );
    }, 15_000);
    await Promise.all([delivery.done, faults.done]);
    clearInterval(progress);
    // Converge time counts from when the last fault ended and the last delivery was acknowledged.
    const settledFrom = Math.max(faults.lastFaultEndedAt(), Date.now());
    say("deliveries and faults done; waiting for quiescence");

    // --- quiescence: the live generation has every record, then Brevo equals the desired state
    const quiesceDeadline = Date.now() + o.quiesceTimeoutMs;
    let accounts: PartitionAccount[] = [];
    const caughtUp = async () => {
      const high = await highWaterMarks(kafka, TOPIC);
      accounts = await partitionAccounts(pool, high);
      if (accounts.length !== high.size || accounts.some((a) => a.next < a.high)) return false;
      // Refunds and disputes applied on another partition than their customer's wait in a mailbox.
      return (await mailboxBacklog(pool, await livePointer(pool))) === 0;
    };
    let projected = false;
    while (Date.now() < quiesceDeadline) {
      if (await caughtUp().catch(() => false)) {
        projected = true;
        break;
      }
      await sleep(1000);
    }
    // The sink's event consumer too: oracle E's "none skipped" needs it to have read everything.
    let eventsRead = false;
    while (projected && Date.now() < quiesceDeadline) {
      if ((await groupLag(kafka, SINK_EVENTS_GROUP, TOPIC).catch(() => -1)) === 0) {
        eventsRead = true;
        break;
      }
      await sleep(1000);
    }
    if (!eventsRead) say("the sink's event consumer did not catch up within the bound");
    const records = await readTopic(kafka, stack.registry.url, TOPIC);
    const events = records.map((r) => JSON.parse(r.payload) as unknown);
    const decoded = events.map((e) => decodeEvent(e)).flatMap((r) => (r.ok ? [r.event] : []));
    const models = readModels(foldAll(decoded));
    let brevoProblems = brevoDiffersFromDesired(fake, sinkConfig, models);
    while (brevoProblems.length > 0 && Date.now() < quiesceDeadline) {
      await sleep(1000);
      brevoProblems = brevoDiffersFromDesired(fake, sinkConfig, models);
    }
    const convergedAt = Date.now();
    const convergeMs = projected && brevoProblems.length === 0 ? convergedAt - settledFrom : null;
    if (!projected) await caughtUp().catch(() => false);
    drainLog();
    say(`quiescent after ${((convergedAt - settledFrom) / 1000).toFixed(1)} s; checking the oracles`);

    // --- the oracles
    const folded = models.map(toReadModelRow);
    const topicIds = new Set(records.map((r) => r.eventId));
    const sent = fake.events.map((e) => ({
      stripeEventId: String((e.properties as Record<string, unknown> | undefined)?.["stripe_event_id"]),
    }));
    const customEvents = {
      topicEvents: new Map(
        records.map((r, i) => [
          r.eventId,
          { type: r.type, created: r.created, live: r.source === "webhook", customerId: customerOf(events[i]) },
        ]),
      ),
      mappedTypes: new Set(Object.keys(sinkConfig.events.mapping)),
      sendAfter,
    };
    const oracles = [
      oracleA(delivery.acked, topicIds),
      oracleB(await viewRows(pool), folded),
      oracleC(brevoProblems),
      oracleD(folded, groundTruth(history)),
      oracleE({
        partitions: accounts,
        dlqRecords: await recordCount(kafka, `${TOPIC}.dlq`),
        sent,
        ...customEvents,
        ledger: await eventLedger(pool),
      }),
    ];
    const figures = buildFigures({
      seed: o.seed,
      command: replayCommand(o),
      events: history.length,
      customers,
      duplicates: order.duplicates,
      delivery: delivery.stats,
      topicRecords: records.length,
      faultsPlanned: countByKind(schedule),
      faultsApplied: faults.applied,
      faultsMissed: faults.missed,
      brevoFaultsHit,
      rebuildSwitches: faults.rebuildsSwitched(),
      instances: supervisor.figures(),
      oracles,
      resends: resends.total,
      contactWrites: resends.writes,
      customEventsSent: sent.length,
      customEventsOwed: owedCustomEvents(customEvents).length,
      convergeMs,
      durationMs: Date.now() - t0,
    });
    return { figures, oracles, logs };
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await teardown();
  }
}

/** Per partition of the live generation: stored position and counts beside the topic's high-water mark. */
async function partitionAccounts(pool: pg.Pool, high: ReadonlyMap<number, number>): Promise<PartitionAccount[]> {
  const { rows } = await pool.query<{ partition: number; next: string; applied: string; dead: string }>(
    `SELECT o.partition, o.next_offset AS next, o.applied_count AS applied, o.dead_lettered_count AS dead
     FROM processed_offset o JOIN projection_pointer p ON p.generation = o.generation
     WHERE o.topic = $1 ORDER BY o.partition`,
    [TOPIC],
  );
  return rows.map((r) => ({
    partition: r.partition,
    high: high.get(r.partition) ?? 0,
    next: Number(r.next),
    applied: Number(r.applied),
    deadLettered: Number(r.dead),
  }));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `pnpm cli <args>` as its own process (what an operator runs), output to `logFile`. */
function runCli(args: string[], env: Record<string, string | undefined>, logFile: string): Promise<number> {
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "packages/cli/src/main.ts"), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", out, out],
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}
