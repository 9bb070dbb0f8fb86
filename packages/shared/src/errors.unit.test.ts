import { describe, expect, it } from "vitest";
import { AppError, isRetriable } from "./errors.ts";

describe("AppError", () => {
  it("carries a code, a retry decision and its cause", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new AppError("kafka_unavailable", "broker down", { retriable: true, cause });
    expect(error).toMatchObject({ code: "kafka_unavailable", retriable: true, cause });
    expect(isRetriable(error)).toBe(true);
    expect(isRetriable(new AppError("schema_violation", "bad record"))).toBe(false);
  });

  it("treats unknown errors as transient, so nothing is dropped by default", () => {
    expect(isRetriable(new TypeError("x"))).toBe(true);
  });
});
