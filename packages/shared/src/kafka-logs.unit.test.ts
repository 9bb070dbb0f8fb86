import { logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { createKafkaLogLevels, TRANSIENT_GRACE_MS } from "./kafka-logs.ts";

const COORDINATOR =
  "[Connection] Response GroupCoordinator(key: 10, version: 2) The group coordinator is not available";

describe("kafkajs log levels", () => {
  it("demotes a forming group's coordinator errors to info, and raises them again once they persist", () => {
    let t = 0;
    const level = createKafkaLogLevels(() => t);
    expect(level(logLevel.ERROR, COORDINATOR)).toBe(logLevel.INFO);
    t += TRANSIENT_GRACE_MS / 2;
    expect(level(logLevel.ERROR, COORDINATOR)).toBe(logLevel.INFO);
    t += TRANSIENT_GRACE_MS / 2 + 1;
    expect(level(logLevel.ERROR, COORDINATOR)).toBe(logLevel.ERROR);
  });

  it("starts the grace again after the answer stopped for as long", () => {
    let t = 0;
    const level = createKafkaLogLevels(() => t);
    level(logLevel.ERROR, COORDINATOR);
    t += TRANSIENT_GRACE_MS + 1;
    expect(level(logLevel.ERROR, COORDINATOR)).toBe(logLevel.INFO);
  });

  it("leaves every other line at its own level", () => {
    const level = createKafkaLogLevels(() => 0);
    expect(level(logLevel.ERROR, "[Producer] Failed to send messages: Broker not available")).toBe(logLevel.ERROR);
    expect(level(logLevel.WARN, COORDINATOR)).toBe(logLevel.WARN);
  });
});
