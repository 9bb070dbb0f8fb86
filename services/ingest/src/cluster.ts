import cluster, { type Worker } from "node:cluster";
import { createInternalServer, type Logger } from "@sbs/shared";
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

  // Every worker answers /metrics for itself only; the primary sums them for one scrape target,
  // on the internal port, with health (the primary runs) and readiness (a worker listens).
  const aggregator = new AggregatorRegistry();
  const listening = new Set<number>();
  cluster.on("listening", (worker) => listening.add(worker.id));
  cluster.on("exit", (worker) => listening.delete(worker.id));
  const internal = metrics
    ? createInternalServer({
        metrics: () =>
          aggregator.clusterMetrics().catch((error: unknown) => {
            log.warn({ err: error }, "collecting worker metrics failed");
            throw error;
          }),
        contentType: aggregator.contentType,
        ready: () => !stopping && listening.size > 0,
      })
    : undefined;
  void internal?.listen(metrics?.host ?? "127.0.0.1", metrics?.port ?? 0).catch((error: unknown) => {
    log.error({ err: error }, "internal metrics port could not be bound");
  });

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
    if (stopping) {
      // Handlers stay installed: a second signal must not kill the primary while workers drain.
      log.warn({ signal }, "already stopping; waiting for workers to drain");
      return;
    }
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    log.info({ signal, workers: alive.length }, "stopping workers");
    void internal?.close();
    let remaining = alive.length;
    let unclean = false;
    if (remaining === 0) process.exit(0);
    for (const worker of alive) {
      worker.once("exit", (code) => {
        // A worker whose shutdown timed out exits 1; the primary reports it the same way.
        if (code !== 0) unclean = true;
        if (--remaining === 0) process.exit(unclean ? 1 : 0);
      });
      worker.process.kill(signal);
    }
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  return true;
}
