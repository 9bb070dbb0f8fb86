import { Counter, Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import { createInternalServer, registerDefaultMetrics } from "./internal-server.ts";

describe("internal metrics and health server", () => {
  const registry = new Registry();
  new Counter({ name: "things_total", help: "things", registers: [registry] }).inc(3);
  registerDefaultMetrics(registry);
  registerDefaultMetrics(registry); // twice is harmless (prom-client alone would throw on duplicates)
  let ready = false;
  const internal = createInternalServer({
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
    ready: () => ready,
  });
  afterAll(() => internal.close());

  it("binds where told, serves metrics with the process/nodejs defaults, health and readiness", async () => {
    const address = await internal.listen("127.0.0.1", 0);
    expect(address.address).toBe("127.0.0.1");
    const base = `http://127.0.0.1:${address.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain("things_total 3");
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_seconds",
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/webhooks/stripe`, { method: "POST", body: "{}" })).status).toBe(405);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
