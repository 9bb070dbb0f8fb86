import type { Command } from "./cli.ts";
import { planCommand } from "./plan.ts";
import { resyncCommand } from "./resync.ts";
import { testConnectionCommand } from "./test-connection.ts";
import { verifyCommand } from "./verify.ts";

export type { PlanSummary } from "../domain/plan.ts";
export { type Command, type CommandDeps, EXIT, type ExitCode, type Writer } from "./cli.ts";
export { planAll, planFromEnv } from "./plan.ts";

/** The sink's CLI commands, by name. */
export const commands = {
  plan: planCommand,
  resync: resyncCommand,
  "test-connection": testConnectionCommand,
  verify: verifyCommand,
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof commands;
