import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { createShutdown } from "./shutdown.ts";

const logger = createLogger({ service: "test", level: "silent" });

describe("createShutdown", () => {
  it("runs steps once, last registered first", async () => {
    const order: string[] = [];
    const shutdown = createShutdown(logger);
    shutdown.add("kafka", () => void order.push("kafka"));
    shutdown.add("http", async () => {
      order.push("http");
    });
    expect(shutdown.stopping).toBe(false);
    await Promise.all([shutdown.run("SIGTERM"), shutdown.run("SIGINT")]);
    expect(shutdown.stopping).toBe(true);
    expect(order).toEqual(["http", "kafka"]);
  });

  it("keeps going past a failing step and a hanging one, within the deadline", async () => {
    const order: string[] = [];
    const shutdown = createShutdown(logger, { timeoutMs: 200 });
    shutdown.add("last", () => void order.push("last"));
    shutdown.add("hangs", () => new Promise<void>(() => {}));
    shutdown.add("throws", () => {
      throw new Error("boom");
    });
    const started = Date.now();
    await shutdown.run("test");
    expect(order).toEqual(["last"]);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
