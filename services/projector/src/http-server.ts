import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { registerDefaultMetrics } from "@sbs/shared";
import type { Registry } from "prom-client";

/** `/metrics` (Prometheus) and `/healthz` (200 while the consumer runs, 503 otherwise). */
export function createHttpServer(registry: Registry, health: () => { ok: boolean; detail: Record<string, unknown> }) {
  // process_* and nodejs_* (CPU, RSS, heap, event-loop lag, GC), as every service serves them.
  registerDefaultMetrics(registry);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    if (req.method === "GET" && path === "/healthz") {
      const { ok, detail } = health();
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: ok ? "ok" : "unavailable", ...detail }));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return {
    async listen(host: string, port: number): Promise<AddressInfo> {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      return server.address() as AddressInfo;
    },
    async close(): Promise<void> {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
