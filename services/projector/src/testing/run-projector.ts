/**
 * Starts the projector from the environment in its own process, for tests that kill it with
 * SIGKILL: `node --import tsx src/testing/run-projector.ts`. Same wiring as main.ts, plus a line
 * on stdout once it consumes.
 */
import { createLogger } from "@sbs/shared";
import { createProjector } from "../app.ts";
import { loadProjectorConfig } from "../config.ts";

const config = loadProjectorConfig(process.env);
const projector = createProjector(config, {
  logger: createLogger({ service: "projector-child", level: config.logLevel }),
});
process.once("SIGTERM", () => {
  void projector.stop().then(() => process.exit(0));
});
await projector.start();
process.stdout.write("started\n");
