import { type ParseArgsConfig, parseArgs } from "node:util";
import { AppError, errorMessage } from "@sbs/shared";
import Stripe from "stripe";
import type { EventLog } from "../adapters/event-log.ts";
import type { TopicConfig } from "../domain/routing.ts";
import type { Clock } from "./clock.ts";
import { redactKeys, type StripeConnection } from "./stripe-connection.ts";

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** process.stdout and process.stderr fit; tests pass a collecting writer. */
export interface Writer {
  write(text: string): unknown;
}

/** Everything a command may use; each command takes only what it needs. */
export interface CommandDeps {
  readonly stripe: StripeConnection;
  /** Opened only by the commands that append (backfill, catch-up); the caller closes it. */
  readonly openEventLog: () => Promise<EventLog>;
  readonly topics: TopicConfig;
  readonly out: Writer;
  readonly err: Writer;
  readonly clock: Clock;
  /** Where state files go when --state is not given. */
  readonly stateDir: string;
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], deps: CommandDeps): Promise<ExitCode>;
}

/** A bad argument: the message names the flag and what was expected. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true }>>["values"];

/**
 * parseArgs with `-h/--help` added, strict, no positionals. Returns undefined after printing the
 * usage for --help; throws UsageError for anything parseArgs refuses (it names the flag).
 */
export function parseCommandArgs<const O extends Options>(
  argv: readonly string[],
  options: O,
  usage: string,
  out: Writer,
): Values<O> | undefined {
  if (argv.includes("--help") || argv.includes("-h")) {
    out.write(`${usage.trimEnd()}\n`);
    return undefined;
  }
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

/**
 * Runs a command body and maps what it throws to an exit code: UsageError → 2 with the usage,
 * anything else → 1 with a one-line reason (Stripe errors with status and code, keys masked).
 */
export async function runCommand(
  usage: string,
  deps: Pick<CommandDeps, "err">,
  body: () => Promise<ExitCode>,
): Promise<ExitCode> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof UsageError) {
      deps.err.write(`error: ${error.message}\n\n${usage.trimEnd()}\n`);
      return EXIT.usage;
    }
    deps.err.write(`error: ${describeError(error)}\n`);
    return EXIT.failure;
  }
}

export function describeError(error: unknown): string {
  if (error instanceof Stripe.errors.StripeError) return describeStripeError(error);
  if (error instanceof AppError) return `${error.message} (${error.code})`;
  return redactKeys(errorMessage(error));
}

/** `HTTP 403 [code]: message` — Stripe's own message, with any key in it masked. */
export function describeStripeError(error: InstanceType<typeof Stripe.errors.StripeError>): string {
  const status = error.statusCode === undefined ? error.type : `HTTP ${error.statusCode}`;
  const code = error.code === undefined ? "" : ` ${error.code}`;
  return `${status}${code}: ${redactKeys(error.message)}`;
}

export function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag}: expected a positive number, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function positiveInt(flag: string, value: string | undefined, fallback: number, max?: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0 || (max !== undefined && n > max)) {
    const range = max === undefined ? "a positive integer" : `an integer from 1 to ${max}`;
    throw new UsageError(`${flag}: expected ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function nonNegativeInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${flag}: expected a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return n;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/** `YYYY-MM-DD` (midnight UTC) or an ISO 8601 timestamp with a zone → unix seconds. */
export function parseDateFlag(flag: string, value: string): number {
  const expected = `${flag}: expected a date as YYYY-MM-DD or an ISO 8601 timestamp with a zone (2024-01-31T12:00:00Z), got ${JSON.stringify(value)}`;
  const date = DATE_ONLY.exec(value);
  let ms: number;
  if (date) {
    const [, y, m, d] = date.map(Number);
    ms = Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 0);
    // Date.UTC rolls 2024-02-31 over to March: refuse instead.
    if (new Date(ms).toISOString().slice(0, 10) !== value) throw new UsageError(expected);
  } else if (TIMESTAMP.test(value)) {
    ms = Date.parse(value);
  } else {
    throw new UsageError(expected);
  }
  if (!Number.isFinite(ms)) throw new UsageError(expected);
  return Math.floor(ms / 1000);
}

export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}
