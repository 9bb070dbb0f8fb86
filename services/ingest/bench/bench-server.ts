/**
 * The webhook server as the benchmark runs it, in its own process so its RSS can be read apart
 * from the load generator's. BENCH_MODE=kafka appends through the real event log (acks=-1,
 * registry encoding); BENCH_MODE=ceiling is the same server with the append removed.
 */
import type { AddressInfo } from "node:net";
import { createLogger } from "@sbs/shared";
import type { EventLog } from "../src/adapters/event-log.ts";
import { connectEventLog } from "../src/app.ts";
import { runClustered } from "../src/cluster.ts";
import { loadHttpLimits } from "../src/config.ts";
import { createHttpServer, WEBHOOK_PATH } from "../src/http/server.ts";
import { handleWebhook } from "../src/http/webhook.ts";
import { createIngestMetrics } from "../src/metrics.ts";

const env = process.env;
const mode = env["BENCH_MODE"] === "kafka" ? "kafka" : "ceiling";
const topic = env["BENCH_TOPIC"] ?? "bench.stripe.events";
// Logs go to stderr: stdout carries only the benchmark figures (JSON lines).
const logger = createLogger({ service: "ingest-bench", level: "warn", destination: process.stderr });
const maxInFlight = Number(env["MAX_IN_FLIGHT"] ?? 5000);

async function eventLogFor(): Promise<{ log: Pick<EventLog, "append" | "inFlight">; close: () => Promise<void> }> {
  if (mode === "ceiling") return { log: { append: async () => {}, inFlight: 0 }, close: async () => {} };
  // Exactly the event log the service uses (connectEventLog), only the knobs come from the bench.
  const { eventLog } = await connectEventLog(
    {
      kafka: {
        brokers: (env["KAFKA_BROKERS"] ?? "").split(","),
        partitions: 12,
        replicationFactor: 1,
        produceTimeoutMs: 5000,
        maxInFlight,
        maxBatch: Number(env["PRODUCE_MAX_BATCH"] ?? 1000),
      },
      topics: { testTopic: topic, liveTopic: `${topic}.live` },
      schemaRegistryUrl: env["SCHEMA_REGISTRY_URL"] ?? "",
    },
    { logger },
  );
  return { log: eventLog, close: () => eventLog.close() };
}

// BENCH_WORKERS > 1 runs the server as ingest's main does with INGEST_WORKERS: one process per worker.
if (runClustered(Number(env["BENCH_WORKERS"] ?? 1), logger)) {
  const { default: cluster } = await import("node:cluster");
  cluster.once("listening", (_worker, address) => process.send?.({ port: address.port }));
  process.on("message", (m) => {
    if (m === "stop") process.kill(process.pid, "SIGTERM");
  });
} else {
  await serve();
}

async function serve() {
  const { log, close } = await eventLogFor();
  const deps = {
    signature: { secrets: [{ name: "bench", secret: env["BENCH_SECRET"] ?? "" }], toleranceSeconds: 300 },
    topics: { testTopic: topic, liveTopic: `${topic}.live` },
    eventLog: log,
    metrics: createIngestMetrics(() => log.inFlight),
    logger,
    now: Date.now,
    // The service's defaults (slow-body defence, body budget, connection cap), or what env says.
    limits: loadHttpLimits(env),
    draining: () => false,
  };

  // Fastify, for the framework comparison only: same handler, raw-body parser, same responses.
  async function fastifyServer() {
    const { default: Fastify } = await import("fastify");
    const app = Fastify({ bodyLimit: deps.limits.maxBodyBytes });
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    app.post(WEBHOOK_PATH, async (req, reply) => {
      const res = await handleWebhook(req.headers["stripe-signature"], req.body as Buffer, deps);
      return reply.code(res.status).send(res.body);
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  }

  async function nodeServer() {
    const server = createHttpServer(deps);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  const running = env["BENCH_FRAMEWORK"] === "fastify" ? await fastifyServer() : await nodeServer();
  process.send?.({ port: running.port });
  const stop = () =>
    void running
      .close()
      .then(close)
      .then(() => process.exit(0));
  process.on("message", (m) => {
    if (m === "stop") stop();
  });
  process.once("SIGTERM", stop);
}
