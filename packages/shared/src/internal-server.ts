import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * Adds prom-client's standard `process_*` and `nodejs_*` metrics (CPU, RSS, heap, event-loop lag,
 * GC) to a registry, once per registry.
 */
const withDefaults = new WeakSet<Registry>();
export function registerDefaultMetrics(registry: Registry): void {
  if (withDefaults.has(registry)) return;
  withDefaults.add(registry);
  collectDefaultMetrics({ register: registry });
}

/** A fresh registry with the defaults, for a service that has no metrics of its own yet. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  registerDefaultMetrics(registry);
  return registry;
}

export interface InternalServerOptions {
  /** Text of /metrics; a registry's `metrics()`, or a cluster primary's sum over its workers. */
  metrics: () => Promise<string>;
  contentType: string;
  /** /healthz: the process is alive and not wedged (200) or not (503). */
  health?: () => { ok: boolean; detail?: Record<string, unknown> };
  /** /readyz: ready to take traffic (dependencies reachable, not draining). */
  ready?: () => Promise<boolean> | boolean;
}

export interface InternalServer {
  listen(host: string, port: number): Promise<AddressInfo>;
  close(): Promise<void>;
  readonly server: Server;
}

/**
 * The operator's port: /metrics, /healthz and /readyz, bound to loopback by default. Volumes by
 * event type and rejection reasons are not for the public internet, so no service serves them on
 * its public port; scrapers and health checks reach this one over the private network.
 */
export function createInternalServer(opts: InternalServerOptions): InternalServer {
  const json = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    req.resume();
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "method_not_allowed" });
    switch (path) {
      case "/metrics":
        opts.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": opts.contentType });
            res.end(text);
          },
          () => json(res, 503, { error: "metrics_unavailable" }),
        );
        return;
      case "/healthz": {
        const { ok, detail } = opts.health?.() ?? { ok: true };
        return json(res, ok ? 200 : 503, { status: ok ? "ok" : "unavailable", ...detail });
      }
      case "/readyz":
        Promise.resolve(opts.ready ? opts.ready() : true).then(
          (ready) => json(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready" }),
          () => json(res, 503, { status: "not_ready" }),
        );
        return;
      default:
        return json(res, 404, { error: "not_found" });
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return {
    server,
    async listen(host, port) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },
    async close() {
      if (!server.listening) return;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
