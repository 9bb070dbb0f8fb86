import {
  ConfigError,
  createInternalServer,
  createLogger,
  createMetricsRegistry,
  createShutdown,
  env as envVar,
  loadConfig,
  onSignals,
} from "@sbs/shared";
import { z } from "zod";
import { createSinkApp } from "./app.ts";
import { loadSinkEnv } from "./config.ts";
import { loadSinkConfigFile } from "./config-file.ts";

const internalEnv = z.object({
  METRICS_HOST: z.string().default("127.0.0.1"),
  METRICS_PORT: envVar.port(9466),
});

async function main() {
  const env = loadSinkEnv(process.env);
  const logger = createLogger({ service: "brevo-sink", level: env.logLevel });
  const config = await loadSinkConfigFile(env.configFile);
  const app = createSinkApp(env, config, { logger });
  const shutdown = createShutdown(logger, { timeoutMs: env.shutdownTimeoutMs });
  // Internal port (loopback by default): process_*/nodejs_* metrics and /healthz, like every service.
  const internalAt = loadConfig("brevo-sink", internalEnv, process.env);
  const registry = createMetricsRegistry();
  const internal = createInternalServer({ metrics: () => registry.metrics(), contentType: registry.contentType });
  shutdown.add("internal-port", () => internal.close());
  shutdown.add("brevo-sink", () => app.stop());
  onSignals(shutdown, logger);
  const metricsAt = await internal.listen(internalAt.METRICS_HOST, internalAt.METRICS_PORT);
  await app.prepare();
  await app.start();
  logger.info(
    {
      config: env.configFile,
      brevo: env.brevo.baseUrl,
      metrics: `http://${metricsAt.address}:${metricsAt.port}/metrics`,
    },
    "brevo-sink started",
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
