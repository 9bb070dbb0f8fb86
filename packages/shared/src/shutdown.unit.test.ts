import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.ts";
import { createShutdown, onSignals } from "./shutdown.ts";

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

describe("shutdown outcome and signals", () => {
  it("reports a step that timed out or threw as unclean, and a clean run as clean", async () => {
    const hanging = createShutdown(logger, { timeoutMs: 50 });
    hanging.add("hangs", () => new Promise<void>(() => {}));
    hanging.add("throws", () => {
      throw new Error("boom");
    });
    expect(await hanging.run("test")).toEqual({ clean: false, timedOut: ["hangs"], failed: ["throws"] });
    const fine = createShutdown(logger);
    fine.add("ok", () => {});
    expect(await fine.run("test")).toEqual({ clean: true, timedOut: [], failed: [] });
  });

  function fakeProcess() {
    const handlers = new Map<string, ((signal: NodeJS.Signals) => void)[]>();
    return {
      on(event: string, handler: (signal: NodeJS.Signals) => void) {
        handlers.set(event, [...(handlers.get(event) ?? []), handler]);
        return this;
      },
      emit(signal: NodeJS.Signals) {
        for (const h of handlers.get(signal) ?? []) h(signal);
      },
      count: (signal: string) => handlers.get(signal)?.length ?? 0,
    };
  }

  it("keeps handling a second signal while the first shutdown runs, and exits once, with 0 when clean", async () => {
    const proc = fakeProcess();
    const exits: number[] = [];
    let release = () => {};
    const shutdown = createShutdown(logger, { timeoutMs: 5000 });
    let runs = 0;
    shutdown.add("slow", () => {
      runs++;
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    onSignals(shutdown, logger, (code) => exits.push(code), proc as unknown as NodeJS.Process);
    proc.emit("SIGTERM");
    proc.emit("SIGTERM");
    proc.emit("SIGINT");
    // Still installed: Node's default action (kill, exit 143) never applies.
    expect(proc.count("SIGTERM")).toBe(1);
    await new Promise((r) => setTimeout(r, 10));
    expect(exits).toEqual([]);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toBe(1);
    expect(exits).toEqual([0]);
  });

  it("exits 1 when a step timed out", async () => {
    const proc = fakeProcess();
    const exits: number[] = [];
    const shutdown = createShutdown(logger, { timeoutMs: 30 });
    shutdown.add("hangs", () => new Promise<void>(() => {}));
    onSignals(shutdown, logger, (code) => exits.push(code), proc as unknown as NodeJS.Process);
    proc.emit("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    expect(exits).toEqual([1]);
  });
});
