import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, env, loadConfig, stackEnvSchema } from "./config.ts";

const schema = stackEnvSchema
  .extend({
    PORT: env.port(8080),
    DRY_RUN: env.bool(false),
    WEBHOOK_SECRET: env.secret("Stripe signing secret (whsec_…)"),
  })
  .transform((e) => ({ http: { port: e.PORT }, dryRun: e.DRY_RUN, kafka: { brokers: e.KAFKA_BROKERS } }));

const valid = {
  KAFKA_BROKERS: "127.0.0.1:9092, kafka-2:9092",
  SCHEMA_REGISTRY_URL: "http://127.0.0.1:8081/apis/ccompat/v7",
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/sbs",
  WEBHOOK_SECRET: "whsec_x",
};

describe("loadConfig", () => {
  it("maps flat variables onto a typed object with defaults", () => {
    expect(loadConfig("ingest", schema, valid)).toEqual({
      http: { port: 8080 },
      dryRun: false,
      kafka: { brokers: ["127.0.0.1:9092", "kafka-2:9092"] },
    });
  });

  it.each([
    ["false", false],
    ["0", false],
    ["no", false],
    ["true", true],
    ["1", true],
  ])("reads DRY_RUN=%s as %s (not JavaScript truthiness)", (raw, expected) => {
    expect(loadConfig("ingest", schema, { ...valid, DRY_RUN: raw }).dryRun).toBe(expected);
  });

  it("reports every problem at once, each naming its variable", () => {
    const error = (() => {
      try {
        loadConfig("ingest", schema, { KAFKA_BROKERS: "no-port", PORT: "99999", DRY_RUN: "perhaps" });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const variable of [
      "KAFKA_BROKERS",
      "SCHEMA_REGISTRY_URL",
      "DATABASE_URL",
      "PORT",
      "DRY_RUN",
      "WEBHOOK_SECRET",
    ]) {
      expect(message).toContain(`- ${variable}`);
    }
    expect(message).toContain("KAFKA_BROKERS (entry 1): each broker must look like host:port");
    expect(message).toMatch(/^ingest: invalid configuration \(6 problems\)/);
  });

  it("never echoes a secret's value in its error", () => {
    const strict = z.object({ API_KEY: env.secret("API key").regex(/^sk_/, { error: "must start with sk_" }) });
    expect(() => loadConfig("x", strict, { API_KEY: "xk_live_supersecret" })).toThrow(/must start with sk_/);
    try {
      loadConfig("x", strict, { API_KEY: "xk_live_supersecret" });
    } catch (e) {
      expect((e as Error).message).not.toContain("supersecret");
    }
  });
});
