import { createLogger } from "@sbs/shared";
import { createSinkApp } from "../app.ts";
import { loadSinkEnv } from "../config.ts";
import { loadSinkConfigFile } from "../config-file.ts";
import { type Command, EXIT, runCommand } from "./cli.ts";
import { planCommand } from "./plan.ts";

const usage = `usage: pnpm cli resync [--config sink.yaml] [--dry-run]

Diffs every customer (not only those changed since the cursor) against the last pushed state and
pushes what differs: after a config change, or to retry everything. Unchanged customers cost no
Brevo call. Needs the sink's environment (DATABASE_URL, BREVO_API_KEY…). --dry-run prints what
it would send and calls nothing: the same as \`pnpm cli plan\`.`;

export const resyncCommand: Command = {
  summary: "diff every customer and push what differs",
  usage,
  run: (argv, deps) =>
    runCommand(argv, { config: { type: "string" }, "dry-run": { type: "boolean" } }, usage, deps, async (values) => {
      if (values["dry-run"]) {
        const config = values["config"];
        return planCommand.run(typeof config === "string" ? ["--config", config] : [], deps);
      }
      const env = loadSinkEnv(deps.env);
      const config = await loadSinkConfigFile(String(values["config"] ?? env.configFile));
      const logger = createLogger({
        service: "brevo-sink-resync",
        level: env.logLevel === "info" ? "warn" : env.logLevel,
      });
      const app = createSinkApp(env, config, { logger });
      try {
        await app.prepare();
        const report = await app.runOnce("resync");
        deps.out.write(`${JSON.stringify(report)}\n`);
        return report.failed > 0 ? EXIT.failure : EXIT.ok;
      } finally {
        await app.stop();
      }
    }),
};
