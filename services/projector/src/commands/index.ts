import { parseArgs } from "node:util";
import { createLogger } from "@sbs/shared";
import { loadProjectorConfig } from "../config.ts";
import { runRebuild } from "../rebuild.ts";
import { acceptGapCommand } from "./accept-gap.ts";
import type { Command } from "./command.ts";

export { type RebuildOptions, type RebuildResult, runRebuild } from "../rebuild.ts";

export type { Command, CommandDeps, Writer } from "./command.ts";

const rebuildUsage = `usage: pnpm cli rebuild [--fresh] [--no-switch] [--progress-interval <seconds>]

Folds the projector's topic from offset 0 into a new generation of the projection tables, with
progress (records, rate, ETA) on stderr, while the live projector keeps serving. Once caught up to
the high-water marks it switches the generation pointer in one transaction; the previous
generation is kept for rollback. An unfinished rebuild is resumed unless --fresh is given.
Environment: as the projector (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, KAFKA_TOPIC…).`;

const rebuildCommand: Command = {
  summary: "Rebuild the projection into a new generation and switch to it when caught up",
  usage: rebuildUsage,
  async run(argv, deps) {
    let values: { fresh?: boolean; "no-switch"?: boolean; "progress-interval"?: string; help?: boolean };
    try {
      values = parseArgs({
        args: [...argv],
        options: {
          fresh: { type: "boolean" },
          "no-switch": { type: "boolean" },
          "progress-interval": { type: "string" },
          help: { type: "boolean", short: "h" },
        },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (error) {
      deps.err.write(`error: ${(error as Error).message}\n\n${rebuildUsage}\n`);
      return 2;
    }
    if (values.help) {
      deps.out.write(`${rebuildUsage}\n`);
      return 0;
    }
    const interval = Number(values["progress-interval"] ?? 2);
    if (!Number.isFinite(interval) || interval <= 0) {
      deps.err.write(`error: --progress-interval: expected a positive number of seconds\n`);
      return 2;
    }
    const config = loadProjectorConfig(deps.env);
    const result = await runRebuild(
      { fresh: values.fresh ?? false, switch: !values["no-switch"], progressIntervalMs: interval * 1000 },
      { config, logger: createLogger({ service: "projector-rebuild", level: config.logLevel }), err: deps.err },
    );
    deps.out.write(`${JSON.stringify(result)}\n`);
    return 0;
  },
};

/** The projector's operator commands, by CLI name. */
export const commands = { rebuild: rebuildCommand, "accept-gap": acceptGapCommand } as const satisfies Record<
  string,
  Command
>;
