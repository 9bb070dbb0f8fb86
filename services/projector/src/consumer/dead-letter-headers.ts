import type { IHeaders } from "kafkajs";

/** Headers a dead-letter record carries besides the original ones, so it can be traced and redriven. */
export const DLQ_HEADER = {
  topic: "dlq.origin.topic",
  partition: "dlq.origin.partition",
  offset: "dlq.origin.offset",
  errorClass: "dlq.error.class",
  message: "dlq.error.message",
  attempts: "dlq.attempts",
  /** The original key: the DLQ record's own key names the origin record instead. */
  key: "dlq.origin.key",
} as const;

const EMAIL = /[^\s@"'<>]+@[^\s@"'<>]+\.[a-z]{2,}/gi;
// Phone and card numbers: runs of 7+ digits, possibly separated.
const LONG_NUMBER = /\+?\d[\d\s().-]{5,}\d/g;
const MAX_MESSAGE = 300;

/**
 * An error message safe to put in a header: validation messages can quote input, and the input is
 * a Stripe payload with customers' personal data. Emails and long numbers are masked, length capped.
 */
export function sanitizeMessage(message: string): string {
  const masked = message.replace(EMAIL, "<email>").replace(LONG_NUMBER, "<number>").replace(/\s+/g, " ").trim();
  return masked.length > MAX_MESSAGE ? `${masked.slice(0, MAX_MESSAGE - 1)}…` : masked;
}

/** The key of a dead-letter record: unique per origin record, which is what makes a lost ack recoverable. */
export const deadLetterKey = (topic: string, partition: number, offset: string): string =>
  `${topic}:${partition}:${offset}`;

export function deadLetterHeaders(
  original: IHeaders | undefined,
  origin: { topic: string; partition: number; offset: string; key?: Buffer | null },
  failure: { errorClass: string; reason: string; attempts: number },
): IHeaders {
  return {
    ...original,
    [DLQ_HEADER.topic]: origin.topic,
    [DLQ_HEADER.partition]: String(origin.partition),
    [DLQ_HEADER.offset]: origin.offset,
    [DLQ_HEADER.errorClass]: failure.errorClass,
    [DLQ_HEADER.message]: sanitizeMessage(failure.reason),
    [DLQ_HEADER.attempts]: String(failure.attempts),
    ...(origin.key ? { [DLQ_HEADER.key]: origin.key } : {}),
  };
}
