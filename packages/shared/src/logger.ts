import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger } from "pino";

/**
 * Paths pino blanks out wherever they appear. Webhook signatures and API keys are secrets; emails
 * are personal data that logs (shipped, retained, widely readable) must not collect.
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

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? "info",
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return config.destination ? pino(options, config.destination) : pino(options);
}
