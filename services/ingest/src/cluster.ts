import cluster, { type Worker } from "node:cluster";
import { createServer } from "node:http";
import type { Logger } from "@sbs/shared";
import { AggregatorRegistry } from "prom-client";

/**
 * Runs `workers` copies of the service in child processes sharing one listening port (Node's
 * cluster module). A single event loop saturates one core on the webhook path (HMAC, JSON,
 * Kafka encoding); workers let ingest use the machine's other cores. A worker that dies is
 * replaced after a short pause; SIGTERM/SIGINT are passed to every worker and the primary exits
 * when they have drained.
 *
 * Returns true in the primary (the caller must not start the service there), false in a worker.
 */
export function runClustered(workers: number, logger: Logger, metrics?: { host: string; port: number }): boolean {
  if (cluster.isWorker) {
    // Constructing one installs prom-client's responder to the primary's metric requests.
    new AggregatorRegistry();
    return false;
  }
  if (workers <= 1) return false;
  let stopping = false;
  const log = logger.child({ component: "cluster" });

  // Every worker answers /metrics for itself only; the primary sums them for one scrape target.
  const aggregator = new AggregatorRegistry();
  const metricsServer = metrics
    ? createServer((req, res) => {
        if (req.url !== "/metrics") {
          res.writeHead(404).end();
          return;
        }
        aggregator.clusterMetrics().then(
          (text) => res.writeHead(200, { "content-type": aggregator.contentType }).end(text),
          (error: unknown) => {
            log.warn({ err: error }, "collecting worker metrics failed");
            res.writeHead(503).end();
          },
        );
      }).listen(metrics.port, metrics.host)
    : undefined;

  const fork = () => {
    const worker = cluster.fork();
    worker.once("exit", (code, signal) => {
      if (stopping) return;
      log.error({ pid: worker.process.pid, code, signal }, "worker died; starting a replacement in 1 s");
      setTimeout(fork, 1000);
    });
    return worker;
  };
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, "started workers");

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    log.info({ signal, workers: alive.length }, "stopping workers");
    metricsServer?.close();
    let remaining = alive.length;
    if (remaining === 0) process.exit(0);
    for (const worker of alive) {
      worker.once("exit", () => {
        if (--remaining === 0) process.exit(0);
      });
      worker.process.kill(signal);
    }
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return true;
}
