import cluster from "node:cluster";
import type { AddressInfo } from "node:net";
import { ConfigError, createLogger, createShutdown, onSignals } from "@sbs/shared";
import { register } from "prom-client";
import { createIngest } from "./app.ts";
import { runClustered } from "./cluster.ts";
import { loadIngestConfig } from "./config.ts";
import { WEBHOOK_PATH } from "./http/server.ts";

const url = (a: AddressInfo) => `http://${a.address === "0.0.0.0" ? "127.0.0.1" : a.address}:${a.port}`;

async function main() {
  const config = loadIngestConfig(process.env);
  const logger = createLogger({ service: "ingest", level: config.logLevel });
  const { workers } = config.cluster;
  if (runClustered(workers, logger, config.internal)) {
    logger.info(
      { workers, metrics: `http://${config.internal.host}:${config.internal.port}/metrics` },
      "ingest primary started",
    );
    return;
  }
  const ingest = await createIngest(config, {
    logger: cluster.isWorker ? logger.child({ worker: cluster.worker?.id }) : logger,
    ...(cluster.isWorker ? { metricsRegistry: register, internalServer: false } : {}),
  });
  const shutdown = createShutdown(logger, { timeoutMs: config.shutdownTimeoutMs });
  shutdown.add("ingest", () => ingest.stop());
  onSignals(shutdown, logger);
  const { webhook, internal } = await ingest.listen();
  logger.info(
    {
      webhook: `${url(webhook)}${WEBHOOK_PATH}`,
      ...(internal
        ? { metrics: `${url(internal)}/metrics`, health: `${url(internal)}/healthz`, ready: `${url(internal)}/readyz` }
        : {}),
      // Names only; "secret" in a key would be redacted by the logger.
      verifiers: config.signature.secrets.map((s) => s.name),
    },
    "ingest listening",
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
