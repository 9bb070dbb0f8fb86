import { describe, expect, it } from "vitest";
import { loadProjectorConfig } from "./config.ts";

const stack = {
  KAFKA_BROKERS: "127.0.0.1:9092",
  SCHEMA_REGISTRY_URL: "http://127.0.0.1:8081",
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/sbs",
};

describe("projector config: Postgres pool size", () => {
  it("defaults to one connection per partition in flight plus two for the supervisor", () => {
    expect(loadProjectorConfig(stack).database.poolSize).toBe(8);
    expect(loadProjectorConfig({ ...stack, PARTITIONS_CONCURRENCY: "3" }).database.poolSize).toBe(5);
  });

  it("keeps an explicit size and rejects one that is not a positive integer", () => {
    expect(loadProjectorConfig({ ...stack, DATABASE_POOL_SIZE: "3" }).database.poolSize).toBe(3);
    expect(() => loadProjectorConfig({ ...stack, DATABASE_POOL_SIZE: "0" })).toThrow(
      /DATABASE_POOL_SIZE.*positive integer/s,
    );
  });
});
