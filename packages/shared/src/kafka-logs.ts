import { type logCreator, logLevel } from "kafkajs";
import type { Logger } from "./logger.ts";

/**
 * Broker answers that are normal for a few seconds while a group or a topic forms (a fresh start,
 * a broker restart, a leader election): kafkajs logs them at error level and retries them itself.
 */
const TRANSIENT = [
  "The group coordinator is not available",
  "The coordinator is loading and hence can't process requests",
  "This is not the correct coordinator for this group",
  "There is no leader for this topic-partition as we are in the middle of a leadership election",
];

/** How long a transient answer may repeat before it is an error again. */
export const TRANSIENT_GRACE_MS = 30_000;

/**
 * The level a kafkajs line is logged at: a transient answer is info for its first
 * TRANSIENT_GRACE_MS (counted from when it first appeared, reset once it stopped for as long),
 * then error, as a persisting one deserves.
 */
export function createKafkaLogLevels(now: () => number = Date.now) {
  const firstSeen = new Map<string, { first: number; last: number }>();
  return (level: logLevel, text: string): logLevel => {
    if (level !== logLevel.ERROR) return level;
    const known = TRANSIENT.find((t) => text.includes(t));
    if (known === undefined) return level;
    const t = now();
    const seen = firstSeen.get(known);
    if (seen === undefined || t - seen.last > TRANSIENT_GRACE_MS) {
      firstSeen.set(known, { first: t, last: t });
      return logLevel.INFO;
    }
    seen.last = t;
    return t - seen.first < TRANSIENT_GRACE_MS ? logLevel.INFO : logLevel.ERROR;
  };
}

/** kafkajs logs through our pino logger, so one pipeline carries every line with the same redaction. */
export function bridgeLogs(logger: Logger): logCreator {
  const child = logger.child({ component: "kafkajs" });
  const levels = createKafkaLogLevels();
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const text = `${message} ${typeof extra["error"] === "string" ? extra["error"] : ""}`;
      switch (levels(level, text)) {
        case logLevel.ERROR:
          child.error(extra, message);
          break;
        case logLevel.WARN:
          child.warn(extra, message);
          break;
        case logLevel.INFO:
          child.info(extra, message);
          break;
        default:
          child.debug(extra, message);
      }
    };
}
