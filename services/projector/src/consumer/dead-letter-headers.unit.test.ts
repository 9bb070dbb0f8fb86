import { describe, expect, it } from "vitest";
import { DLQ_HEADER, deadLetterHeaders, sanitizeMessage } from "./dead-letter-headers.ts";

describe("dead-letter headers", () => {
  it.each([
    ["customer.email: jane.doe@example.com is invalid", "customer.email: <email> is invalid"],
    ["phone +49 (30) 1234-5678 rejected", "phone <number> rejected"],
    ["card 4242424242424242", "card <number>"],
    ["event.created: expected number", "event.created: expected number"],
  ])("masks personal data in %j", (input, expected) => {
    expect(sanitizeMessage(input)).toBe(expected);
  });

  it("caps the length", () => {
    expect(sanitizeMessage("x".repeat(1000))).toHaveLength(300);
  });

  it("keeps the original headers and adds the origin", () => {
    const headers = deadLetterHeaders(
      { event_id: "evt_1" },
      { topic: "t", partition: 2, offset: "41" },
      { errorClass: "invalid_event", reason: "bad a@b.io", attempts: 3 },
    );
    expect(headers).toEqual({
      event_id: "evt_1",
      [DLQ_HEADER.topic]: "t",
      [DLQ_HEADER.partition]: "2",
      [DLQ_HEADER.offset]: "41",
      [DLQ_HEADER.errorClass]: "invalid_event",
      [DLQ_HEADER.message]: "bad <email>",
      [DLQ_HEADER.attempts]: "3",
    });
  });
});
