import { type Logger, type LoggerOptions, pino } from "pino";
import { REDACTED, redactDeep, redactString, serializeError } from "./redact.ts";

export type { Logger } from "pino";

/**
 * Paths pino blanks out wherever they appear. Webhook signatures and API keys are secrets; emails
 * are personal data that logs (shipped, retained, widely readable) must not collect. These are the
 * known places; `redactDeep` (every logged object, by key name and by value) catches the rest.
 */
export const REDACT_PATHS = [
  "secret",
  "*.secret",
  "secrets",
  "*.secrets",
  "apiKey",
  "*.apiKey",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "email",
  "*.email",
  "*.*.email",
  'headers["stripe-signature"]',
  '*.headers["stripe-signature"]',
  'headers["api-key"]',
  '*.headers["api-key"]',
  "headers.authorization",
  "*.headers.authorization",
];

export interface LoggerConfig {
  service: string;
  level?: LoggerOptions["level"];
  /** Where lines go; tests pass a stream to assert on output. Defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

const errorSerializer = (value: unknown) => (value instanceof Error ? serializeError(value) : redactDeep(value));

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? "info",
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: errorSerializer, error: errorSerializer },
    formatters: {
      // Every field of every line, and the fields bound by child loggers, by key and by value.
      log: (object) => redactDeep(object) as Record<string, unknown>,
      bindings: (bindings) => redactDeep(bindings) as Record<string, unknown>,
    },
    hooks: {
      // The message and its printf-style arguments: `log.info(`failed for ${email}`)` happens.
      logMethod(args, method) {
        const redacted = args.map((arg) => (typeof arg === "string" ? redactString(arg) : arg));
        // `log.error(err)` alone: pino would take the message from the error, unredacted.
        if (args[0] instanceof Error && typeof args[1] !== "string")
          redacted.splice(1, 0, redactString(args[0].message));
        return method.apply(this, redacted as Parameters<typeof method>);
      },
    },
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
