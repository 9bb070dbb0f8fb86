/**
 * Ingest benchmark: verified webhooks/s end to end (real broker, acks=-1, registry encoding)
 * against the same server with the Kafka append removed (the ceiling), measured in one run on
 * the same machine; then RSS under overload. Run: `pnpm --filter @sbs/ingest bench` or `pnpm bench`.
 *
 * BENCH_DURATION_S (10), BENCH_CONNECTIONS (100), BENCH_OVERLOAD_CONNECTIONS (2000).
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ensureTestStack } from "@sbs/infra";
import autocannon from "autocannon";
import { computeSignature } from "../src/domain/signature.ts";
import { hasStripeFixtures, objects, STRIPE_FIXTURES_PATH } from "../src/domain/stripe-test-support.ts";
import { WEBHOOK_PATH } from "../src/http/server.ts";
import { prepareWrk, runWrk, wrkAvailable } from "./wrk-driver.ts";

const env = process.env;
const DURATION = Number(env["BENCH_DURATION_S"] ?? 10);
const CONNECTIONS = Number(env["BENCH_CONNECTIONS"] ?? 100);
const OVERLOAD_CONNECTIONS = Number(env["BENCH_OVERLOAD_CONNECTIONS"] ?? 2000);
const SECRET = `whsec_bench_${randomBytes(12).toString("hex")}`;
const say = (line: string) => console.error(`[bench] ${line}`);

/** Stripe's own example charge when the shared fixtures are present, else a smaller realistic one. */
function chargeTemplate(): Record<string, unknown> {
  if (!hasStripeFixtures) return objects.charge("cus_bench");
  const file = JSON.parse(readFileSync(STRIPE_FIXTURES_PATH, "utf8")) as { resources: Record<string, unknown> };
  return file.resources["charge"] as Record<string, unknown>;
}

/** Distinct, validly signed charge.succeeded deliveries, formatted as Stripe sends them. */
function deliveries(n: number): { body: string; signature: string }[] {
  const template = chargeTemplate();
  const t = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => {
    const body = JSON.stringify(
      {
        id: `evt_bench_${i}_${randomBytes(4).toString("hex")}`,
        object: "event",
        api_version: "2025-03-31.basil",
        created: t,
        data: { object: { ...template, id: `ch_bench_${i}`, customer: `cus_bench_${i % 5000}` } },
        livemode: false,
        pending_webhooks: 1,
        request: { id: null, idempotency_key: null },
        type: "charge.succeeded",
      },
      null,
      2,
    );
    const v1 = computeSignature(Buffer.from(body), t, SECRET).toString("hex");
    return { body, signature: `t=${t},v1=${v1}` };
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  peakRssMb: number;
}

async function startServer(extraEnv: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL("./bench-server.ts", import.meta.url)), [], {
    env: { ...env, BENCH_SECRET: SECRET, ...extraEnv },
    execArgv: ["--import", "tsx"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, port };
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

const useWrk = env["BENCH_LOADGEN"] !== "autocannon" && wrkAvailable();
let wrkFiles: ReturnType<typeof prepareWrk> | undefined;

async function load(
  port: number,
  connections: number,
  seconds: number,
  bodies: ReturnType<typeof deliveries>,
  pid: number,
) {
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 100);
  if (useWrk) {
    wrkFiles ??= prepareWrk(bodies);
    const r = await runWrk(`http://127.0.0.1:${port}${WEBHOOK_PATH}`, wrkFiles, connections, seconds);
    clearInterval(sampler);
    return { ...r, peakRssMb: Math.round(Math.max(peak, rssMb(pid))) } satisfies Run;
  }
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    connections,
    duration: seconds,
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8" },
    requests: [
      {
        setupRequest: (req) => {
          const d = bodies[next++ % bodies.length] as { body: string; signature: string };
          return { ...req, body: d.body, headers: { ...req.headers, "stripe-signature": d.signature } };
        },
      },
    ],
  });
  clearInterval(sampler);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    peakRssMb: Math.round(Math.max(peak, rssMb(pid))),
  } satisfies Run;
}

async function measure(
  label: string,
  serverEnv: Record<string, string>,
  connections: number,
  bodies: ReturnType<typeof deliveries>,
): Promise<Run> {
  const { child, port } = await startServer(serverEnv);
  try {
    say(`${label}: warm-up`);
    await load(port, connections, 3, bodies, child.pid ?? 0);
    say(`${label}: measuring ${DURATION} s with ${connections} connections`);
    return await load(port, connections, DURATION, bodies, child.pid ?? 0);
  } finally {
    child.send("stop");
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const line = (label: string, r: Run) =>
  `${label.padEnd(34)} ${fmt(r.rps).padStart(7)} req/s   p50 ${r.p50} ms   p99 ${r.p99} ms   2xx ${fmt(r.ok)}   non-2xx ${fmt(r.non2xx)}   errors ${r.errors}   peak RSS ${r.peakRssMb} MB`;

async function main() {
  const stack = await ensureTestStack(env, say);
  const kafkaEnv = {
    BENCH_MODE: "kafka",
    KAFKA_BROKERS: stack.endpoints.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.endpoints.schemaRegistryUrl,
    BENCH_TOPIC: `bench.stripe.events.${Date.now().toString(36)}`,
  };
  try {
    const bodies = deliveries(20_000);
    const avgBytes = Math.round(bodies.reduce((s, d) => s + d.body.length, 0) / bodies.length);
    say(`load generator: ${useWrk ? "wrk" : "autocannon (install wrk for a lighter one: apt-get install -y wrk)"}`);
    say(
      `payload: charge.succeeded, ${avgBytes} bytes on average; Kafka ${stack.endpoints.versions.kafka}, ${stack.endpoints.versions.registry}`,
    );

    const nodeCeiling = await measure("ceiling (node:http, no append)", { BENCH_MODE: "ceiling" }, CONNECTIONS, bodies);
    const fastifyCeiling = await measure(
      "ceiling (fastify, no append)",
      { BENCH_MODE: "ceiling", BENCH_FRAMEWORK: "fastify" },
      CONNECTIONS,
      bodies,
    );
    const endToEnd = await measure("end to end (acks=-1, Avro)", kafkaEnv, CONNECTIONS, bodies);
    const overload = await measure(
      "overload (cap 1000 in flight)",
      { ...kafkaEnv, MAX_IN_FLIGHT: "1000" },
      OVERLOAD_CONNECTIONS,
      bodies,
    );

    const ratio = endToEnd.rps / nodeCeiling.rps;
    console.log(
      `\ningest webhook benchmark — ${DURATION} s per run, ${CONNECTIONS} connections, ${avgBytes}-byte events, load from ${useWrk ? "wrk" : "autocannon"}`,
    );
    console.log(line("ceiling, node:http (no append)", nodeCeiling));
    console.log(line("ceiling, fastify (no append)", fastifyCeiling));
    console.log(line("end to end, node:http (acks=-1)", endToEnd));
    console.log(line(`overload, ${OVERLOAD_CONNECTIONS} connections`, overload));
    console.log(
      `end to end / ceiling: ${(ratio * 100).toFixed(1)} %   fastify / node:http: ${((fastifyCeiling.rps / nodeCeiling.rps) * 100).toFixed(1)} %`,
    );
    const json = (figure: string, value: number, baseline: number, unit: string) =>
      console.log(
        JSON.stringify({
          bench: "ingest",
          figure,
          value: Math.round(value),
          unit,
          baseline: Math.round(baseline),
          ratio: Number((value / baseline).toFixed(3)),
        }),
      );
    json("webhooks_per_s_end_to_end", endToEnd.rps, nodeCeiling.rps, "req/s");
    json("p99_ms_end_to_end", endToEnd.p99, nodeCeiling.p99, "ms");
    json("fastify_ceiling_per_s", fastifyCeiling.rps, nodeCeiling.rps, "req/s");
    json("peak_rss_mb_overload", overload.peakRssMb, endToEnd.peakRssMb, "MB");
  } finally {
    await stack.teardown?.();
  }
}

await main();
