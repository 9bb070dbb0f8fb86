import { ConfigError, createLogger, createShutdown, onSignals } from "@sbs/shared";
import { createSinkApp } from "./app.ts";
import { loadSinkEnv } from "./config.ts";
import { loadSinkConfigFile } from "./config-file.ts";

async function main() {
  const env = loadSinkEnv(process.env);
  const logger = createLogger({ service: "brevo-sink", level: env.logLevel });
  const config = await loadSinkConfigFile(env.configFile);
  const shutdown = createShutdown(logger, { timeoutMs: env.shutdownTimeoutMs });
  // SINK_EXIT_ON_FATAL: leadership is already released; stop cleanly and exit 1 for the supervisor.
  const onFatal = () => {
    void Promise.race([app.stop(), new Promise((r) => setTimeout(r, env.shutdownTimeoutMs))]).finally(() =>
      process.exit(1),
    );
  };
  const app = createSinkApp(env, config, { logger, onFatal });
  shutdown.add("brevo-sink", () => app.stop());
  onSignals(shutdown, logger);
  await app.prepare();
  await app.start();
  logger.info({ config: env.configFile, brevo: env.brevo.baseUrl }, "brevo-sink started");
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
  process.exit(1);
});
