import { ConfigError, createLogger, createShutdown, onSignals } from "@sbs/shared";
import { createProjector } from "./app.ts";
import { loadProjectorConfig } from "./config.ts";

async function main() {
  const config = loadProjectorConfig(process.env);
  const logger = createLogger({ service: "projector", level: config.logLevel });
  const projector = createProjector(config, { logger });
  const shutdown = createShutdown(logger, { timeoutMs: config.shutdownTimeoutMs });
  shutdown.add("projector", () => projector.stop());
  onSignals(shutdown, logger);
  await projector.start();
  const address = await projector.listen();
  logger.info({ metrics: `http://${address.address}:${address.port}/metrics` }, "projector listening");
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
