import { describe, expect, it } from "vitest";
import { endpointsFromEnv } from "./index.ts";
import { readSettings } from "./settings.ts";
import { StackError } from "./types.ts";

describe("stack settings", () => {
  it("defaults to the standard loopback ports", () => {
    expect(readSettings({})).toMatchObject({
      kafkaPort: 9092,
      registryPort: 8081,
      databaseName: "sbs",
      mode: undefined,
    });
  });

  it("names every bad variable", () => {
    const bad = { STACK_KAFKA_PORT: "x", STACK_MODE: "k8s" };
    expect(() => readSettings(bad)).toThrow(/STACK_KAFKA_PORT="x" is not a TCP port/);
    expect(() => readSettings(bad)).toThrow(/STACK_MODE="k8s" must be one of/);
  });
});

describe("endpointsFromEnv", () => {
  it("uses a fully given stack as is", () => {
    expect(
      endpointsFromEnv({ KAFKA_BROKERS: "a:1, b:2", SCHEMA_REGISTRY_URL: "http://r", DATABASE_URL: "postgres://d" }),
    ).toEqual({
      mode: "env",
      kafkaBrokers: ["a:1", "b:2"],
      schemaRegistryUrl: "http://r",
      databaseUrl: "postgres://d",
    });
  });

  it("returns nothing when none is given", () => {
    expect(endpointsFromEnv({})).toBeUndefined();
  });

  it("refuses a half-given stack, naming what is missing", () => {
    expect(() => endpointsFromEnv({ KAFKA_BROKERS: "a:1" })).toThrow(StackError);
    expect(() => endpointsFromEnv({ KAFKA_BROKERS: "a:1" })).toThrow(/SCHEMA_REGISTRY_URL, DATABASE_URL not/);
  });
});
