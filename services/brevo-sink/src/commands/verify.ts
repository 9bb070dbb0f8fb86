import { createLogger } from "@sbs/shared";
import { createSinkApp } from "../app.ts";
import { loadSinkEnv } from "../config.ts";
import { loadSinkConfigFile } from "../config-file.ts";
import { brevoContactReader, formatDrift, sampleDrift } from "../verify.ts";
import { type Command, EXIT, runCommand } from "./cli.ts";

const usage = `usage: pnpm cli verify [--sample N] [--config sink.yaml]

Reads N random contacts (default 100) the sink pushed back from Brevo (GET by ext_id) and compares
each managed field (email, mapped attributes, managed lists) with the last pushed state and with
the desired state; prints drift counts by field and up to 10 examples. Exit 1 on any drift.
Needs the sink's environment (DATABASE_URL, BREVO_API_KEY…).`;

export const verifyCommand: Command = {
  summary: "read a sample of contacts back from Brevo and print drift by field",
  usage,
  run: (argv, deps) =>
    runCommand(argv, { sample: { type: "string" }, config: { type: "string" } }, usage, deps, async (values) => {
      const env = loadSinkEnv(deps.env);
      const n = Number(values["sample"] ?? 100);
      if (!Number.isInteger(n) || n <= 0) {
        deps.err.write("error: --sample must be a positive integer\n");
        return EXIT.usage;
      }
      const config = await loadSinkConfigFile(String(values["config"] ?? env.configFile));
      const logger = createLogger({ service: "brevo-sink-verify", level: "warn" });
      const app = createSinkApp(env, config, { logger });
      try {
        const report = await sampleDrift({
          config,
          state: app.state,
          source: app.source,
          extIds: await app.state.samplePushed(n),
          getContact: brevoContactReader(env.brevo),
        });
        deps.out.write(`${formatDrift(report)}\n`);
        return report.drifted + Object.keys(report.vsDesired).length === 0 ? EXIT.ok : EXIT.failure;
      } finally {
        await app.stop();
      }
    }),
};
