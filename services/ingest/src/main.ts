import cluster from "node:cluster";
import { ConfigError, createLogger, createShutdown, onSignals } from "@sbs/shared";
import { register } from "prom-client";
import { createIngest } from "./app.ts";
import { runClustered } from "./cluster.ts";
import { loadIngestConfig } from "./config.ts";
import { WEBHOOK_PATH } from "./http/server.ts";

async function main() {
  const config = loadIngestConfig(process.env);
  const logger = createLogger({ service: "ingest", level: config.logLevel });
  const { workers, metricsPort } = config.cluster;
  if (runClustered(workers, logger, { host: config.http.host, port: metricsPort })) {
    logger.info({ workers, metrics: `http://${config.http.host}:${metricsPort}/metrics` }, "ingest primary started");
    return;
  }
  const ingest = await createIngest(config, {
    logger: cluster.isWorker ? logger.child({ worker: cluster.worker?.id }) : logger,
    ...(cluster.isWorker ? { metricsRegistry: register } : {}),
  });
  const shutdown = createShutdown(logger, { timeoutMs: config.shutdownTimeoutMs });
  shutdown.add("ingest", () => ingest.stop());
  onSignals(shutdown);
  const address = await ingest.listen();
  const base = `http://${address.address === "0.0.0.0" ? "127.0.0.1" : address.address}:${address.port}`;
  logger.info(
    {
      webhook: `${base}${WEBHOOK_PATH}`,
      metrics: `${base}/metrics`,
      secrets: config.signature.secrets.map((s) => s.name),
    },
    "ingest listening",
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
