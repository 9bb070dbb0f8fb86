import { backfillCommand } from "./backfill.ts";
import { catchUpCommand } from "./catch-up.ts";
import type { Command } from "./cli.ts";
import { setupWebhookCommand } from "./setup-webhook.ts";
import { testConnectionCommand } from "./test-connection.ts";

export { type BackfillOptions, type BackfillResult, runBackfill } from "./backfill.ts";
export { type CatchUpOptions, type CatchUpResult, runCatchUp } from "./catch-up.ts";
export { type Command, type CommandDeps, EXIT, type ExitCode, type Writer } from "./cli.ts";
export { type Clock, systemClock } from "./clock.ts";
export { PINNED_API_VERSION, PROJECTOR_EVENT_TYPES } from "./event-types.ts";
export { setupWebhook } from "./setup-webhook.ts";
export {
  createStripeConnection,
  describeKey,
  type KeyInfo,
  type StripeConnection,
  type StripeConnectionOptions,
} from "./stripe-connection.ts";
export { testConnection } from "./test-connection.ts";

/** The Stripe API commands of ingest, by CLI name. */
export const commands = {
  backfill: backfillCommand,
  "catch-up": catchUpCommand,
  "setup-webhook": setupWebhookCommand,
  "test-connection": testConnectionCommand,
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof commands;
