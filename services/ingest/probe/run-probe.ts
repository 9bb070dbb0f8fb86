import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { createKafka, createLogger } from "@sbs/shared";
import { uniqueName } from "@sbs/shared/testing";
import { badInputClasses, eventBody, type ProbeRequest, signedRequest } from "./classes.ts";

/**
 * The security probe: starts a real ingest process (real Kafka, real registry) and attacks it.
 * Everything it reports is observed from outside: status codes, records in the topics (high
 * watermarks), lines the process wrote, and its resident memory (/proc/<pid>/status).
 */
export interface ProbeOptions {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  /** Requests per bad-input class. */
  perClass: number;
  /** Stalled 1 MiB bodies opened at once. */
  attackConnections: number;
  /** Signed events sent (one at a time) while the attack runs. */
  legitDuringAttack: number;
  /** Junk requests in the flood. */
  floodRequests: number;
  /** Memory the attack may add to the idle process. */
  rssBudgetBytes: number;
  /** Environment for the ingest under test (timeouts, budget…); defaults are the service's own. */
  ingestEnv?: Record<string, string>;
  say?: (line: string) => void;
}

export interface ClassResult {
  name: string;
  expected: number;
  statuses: Record<string, number>;
  stored: number;
  logLines: number;
}

export interface AttackResult {
  connections: number;
  answers: Record<string, number>;
  /** Longest a stalled connection was held before it was answered or dropped. */
  maxHeldMs: number;
  cutAfterMs: number;
  idleRssBytes: number;
  peakRssBytes: number;
  legitSent: number;
  legitOk: number;
  stored: number;
}

export interface FloodResult {
  requests: number;
  statuses: Record<string, number>;
  logLines: number;
  counted: number;
  stored: number;
  ms: number;
}

export interface ProbeResult {
  classes: ClassResult[];
  attack: AttackResult;
  flood: FloodResult;
  peakRssBytes: number;
  idleRssBytes: number;
  requestTimeoutMs: number;
}

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SECRET = "whsec_probe_0123456789abcdef0123";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(port: number, req: ProbeRequest): Promise<number> {
  return new Promise((resolve) => {
    const r = request(
      { host: "127.0.0.1", port, method: req.method, path: req.path, headers: req.headers, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(res.statusCode ?? 0));
      },
    );
    r.on("error", () => resolve(0)); // 0: the connection was dropped without an answer
    r.end(req.body);
  });
}

function tally(statuses: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of statuses) out[String(s)] = (out[String(s)] ?? 0) + 1;
  return out;
}

async function pool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

export async function runProbe(opts: ProbeOptions): Promise<ProbeResult> {
  const say = opts.say ?? (() => {});
  const logger = createLogger({ service: "probe", level: "silent" });
  const topics = { test: uniqueName("probe-test"), live: uniqueName("probe-live") };
  const [port, internalPort] = [await freePort(), await freePort()];
  const env: Record<string, string | undefined> = {
    ...process.env,
    KAFKA_BROKERS: opts.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: opts.schemaRegistryUrl,
    STRIPE_WEBHOOK_SECRETS: `probe=${SECRET}`,
    KAFKA_TOPIC_TEST: topics.test,
    KAFKA_TOPIC_LIVE: topics.live,
    KAFKA_TOPIC_PARTITIONS: "3",
    HTTP_PORT: String(port),
    METRICS_PORT: String(internalPort),
    LOG_LEVEL: "info",
    ...opts.ingestEnv,
  };
  const requestTimeoutMs = Number(env["HTTP_REQUEST_TIMEOUT_MS"] ?? 20_000);
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "services/ingest/src/main.ts"], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logLines = 0;
  let output = "";
  const countLines = (chunk: Buffer) => {
    const text = chunk.toString();
    for (const c of text) if (c === "\n") logLines++;
    if (output.length < 20_000) output += text;
  };
  child.stdout?.on("data", countLines);
  child.stderr?.on("data", countLines);
  const pid = child.pid ?? 0;
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 50);

  const admin = createKafka({ brokers: opts.kafkaBrokers, clientId: "probe", logger }).admin();
  const stored = async () => {
    let total = 0;
    for (const topic of [topics.test, topics.live]) {
      for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high);
    }
    return total;
  };

  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${internalPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`ingest did not start:\n${output}`);
      await sleep(200);
    }
    await admin.connect();
    // Warm up (schema registered, producer connected), then take the idle baseline.
    for (let i = 0; i < 20; i++) await send(port, signedRequest(SECRET, eventBody(i, "warm")));
    await sleep(500);
    const idle = rssOf(pid);
    peak = idle;
    say(`ingest pid ${pid}, idle RSS ${(idle / 1e6).toFixed(1)} MB`);

    // 1. Bad-input classes, one after another.
    const classes: ClassResult[] = [];
    for (const c of badInputClasses(SECRET)) {
      const before = await stored();
      const linesBefore = logLines;
      const statuses: number[] = [];
      await pool(
        Array.from({ length: opts.perClass }, (_, i) => i),
        10,
        async (i) => {
          statuses.push(await send(port, c.make(i)));
        },
      );
      await sleep(20);
      classes.push({
        name: c.name,
        expected: c.expect,
        statuses: tally(statuses),
        stored: (await stored()) - before,
        logLines: logLines - linesBefore,
      });
    }
    say(`bad-input classes done (${classes.length})`);

    // 2. Slow bodies: headers + 1 MiB − 1 byte of a declared 1 MiB, then nothing.
    const attackStored = await stored();
    const attackIdle = rssOf(pid);
    const declared = 1024 * 1024;
    const payload = Buffer.alloc(declared - 1, "x");
    const head = (t: number) =>
      `POST /webhooks/stripe HTTP/1.1\r\nhost: probe\r\ncontent-type: application/json\r\ncontent-length: ${declared}\r\nstripe-signature: t=${t},v1=${"ab".repeat(32)}\r\n\r\n`;
    const sockets: Socket[] = [];
    const answers: string[] = [];
    let maxHeld = 0;
    const attack = Array.from(
      { length: opts.attackConnections },
      () =>
        new Promise<void>((resolve) => {
          const started = performance.now();
          const socket = connect(port, "127.0.0.1");
          sockets.push(socket);
          let answered = false;
          const done = (what: string) => {
            if (answered) return;
            answered = true;
            answers.push(what);
            maxHeld = Math.max(maxHeld, performance.now() - started);
            socket.destroy();
            resolve();
          };
          socket.once("data", (chunk) => done(chunk.toString().slice(9, 12)));
          socket.on("error", () => done("reset"));
          socket.on("close", () => done("closed"));
          socket.on("connect", () => {
            socket.write(head(Math.floor(Date.now() / 1000)));
            socket.write(payload);
          });
        }),
    );
    // Stripe keeps delivering meanwhile.
    let legitOk = 0;
    const legitStart = performance.now();
    for (let i = 0; i < opts.legitDuringAttack; i++) {
      if ((await send(port, signedRequest(SECRET, eventBody(i, "legit")))) === 200) legitOk++;
      await sleep(50);
    }
    const legitMs = performance.now() - legitStart;
    await Promise.race([Promise.all(attack), sleep(requestTimeoutMs + 15_000)]);
    for (const s of sockets) s.destroy();
    const attackResult: AttackResult = {
      connections: opts.attackConnections,
      answers: tally(answers.map((a) => (/^\d+$/.test(a) ? Number(a) : a)) as unknown as number[]),
      maxHeldMs: maxHeld,
      cutAfterMs: requestTimeoutMs,
      idleRssBytes: attackIdle,
      peakRssBytes: peak,
      legitSent: opts.legitDuringAttack,
      legitOk,
      stored: (await stored()) - attackStored,
    };
    answers.length < opts.attackConnections &&
      say(`${opts.attackConnections - answers.length} attack connections still open after the timeout`);
    say(`slow-body attack done (legit deliveries took ${(legitMs / 1000).toFixed(1)} s)`);

    // 3. Junk flood: validly signed, not JSON / not an event, as fast as it goes.
    const floodStored = await stored();
    const floodLines = logLines;
    const floodStart = performance.now();
    const floodStatuses: number[] = [];
    await pool(
      Array.from({ length: opts.floodRequests }, (_, i) => i),
      50,
      async (i) => {
        const junk = i % 2 === 0 ? `junk ${i}` : JSON.stringify({ object: "event", n: i });
        floodStatuses.push(await send(port, signedRequest(SECRET, junk)));
      },
    );
    const floodMs = performance.now() - floodStart;
    await sleep(100);
    const metrics = await (await fetch(`http://127.0.0.1:${internalPort}/metrics`)).text();
    const count = (reason: string) =>
      Number(new RegExp(`ingest_webhooks_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    const flood: FloodResult = {
      requests: opts.floodRequests,
      statuses: tally(floodStatuses),
      logLines: logLines - floodLines,
      // Every rejection of the flood's reasons so far; the classes above contributed their own.
      counted: count("not_json") + count("invalid_envelope"),
      stored: (await stored()) - floodStored,
      ms: floodMs,
    };
    return { classes, attack: attackResult, flood, peakRssBytes: peak, idleRssBytes: idle, requestTimeoutMs };
  } finally {
    clearInterval(sampler);
    await admin.disconnect().catch(() => {});
    child.kill("SIGTERM");
    await new Promise((r) => {
      if (child.exitCode !== null) return r(undefined);
      child.once("exit", r);
      setTimeout(() => child.kill("SIGKILL"), 20_000).unref();
    });
    await deleteTopics(opts.kafkaBrokers, [topics.test, topics.live]);
  }
}

async function deleteTopics(brokers: string[], topics: string[]) {
  const admin = createKafka({
    brokers,
    clientId: "probe-cleanup",
    logger: createLogger({ service: "probe", level: "silent" }),
  }).admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics });
  } catch {
    // Best effort: a probe topic left behind is harmless.
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export function formatProbe(r: ProbeResult, rssBudget: number): string {
  const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
  const fmt = (s: Record<string, number>) =>
    Object.entries(s)
      .map(([k, v]) => `${k}×${v}`)
      .join(" ");
  const rows = r.classes.map((c) => `| ${c.name} | ${c.expected} | ${fmt(c.statuses)} | ${c.stored} | ${c.logLines} |`);
  const total = r.classes.reduce((n, c) => n + Object.values(c.statuses).reduce((a, b) => a + b, 0), 0);
  const a = r.attack;
  return [
    `bad input: ${r.classes.length} classes, ${total} requests`,
    "| class | expected | statuses | stored | log lines |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    `slow-body attack: ${a.connections} connections, each declaring 1 MiB and sending 1 MiB − 1 byte, then stalling`,
    `| answers | longest held | request timeout | RSS idle → peak (above idle) | RSS budget above idle | legit events 200 during attack | stored by attackers |`,
    "|---|---|---|---|---|---|---|",
    `| ${fmt(a.answers)} | ${(a.maxHeldMs / 1000).toFixed(1)} s | ${(a.cutAfterMs / 1000).toFixed(0)} s | ${mb(a.idleRssBytes)} → ${mb(a.peakRssBytes)} (+${mb(a.peakRssBytes - a.idleRssBytes)}) | ${mb(rssBudget)} | ${a.legitOk}/${a.legitSent} (${((100 * a.legitOk) / Math.max(1, a.legitSent)).toFixed(0)} %) | ${a.stored - a.legitOk} |`,
    "",
    `junk flood: ${r.flood.requests} validly signed non-events in ${(r.flood.ms / 1000).toFixed(1)} s`,
    "| statuses | log lines written | rejections counted in /metrics (whole run) | stored |",
    "|---|---|---|---|",
    `| ${fmt(r.flood.statuses)} | ${r.flood.logLines} | ${r.flood.counted} | ${r.flood.stored} |`,
    "",
    `server peak RSS over the whole probe: ${mb(r.peakRssBytes)} (idle ${mb(r.idleRssBytes)})`,
  ].join("\n");
}
