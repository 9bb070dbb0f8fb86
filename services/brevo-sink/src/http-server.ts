import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createMetricsRegistry } from "@sbs/shared";
import type { PassHealth } from "./pass-loop.ts";

/**
 * `/healthz`: 200 while leading or standing by, 503 after a fatal error (until a good pass), with
 * the detail as JSON. `/metrics`: the same as Prometheus gauges, for alerting.
 */
export function createSinkHttpServer(health: () => Readonly<PassHealth>) {
  // process_* / nodejs_* metrics, as every service serves them.
  const defaults = createMetricsRegistry();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const h = health();
    if (req.method === "GET" && path === "/healthz") {
      res.writeHead(h.status === "fatal" ? 503 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(h));
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      void defaults.metrics().then((standard) => {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
        res.end(`${sinkMetrics(h)}${standard}`);
      });
      return;
    }
    res.writeHead(404).end();
  });
  const sinkMetrics = (h: Readonly<PassHealth>): string =>
    [
      "# HELP brevo_sink_fatal 1 after a fatal (not retriable) error, until a pass succeeds",
      "# TYPE brevo_sink_fatal gauge",
      `brevo_sink_fatal ${h.status === "fatal" ? 1 : 0}`,
      "# HELP brevo_sink_leading 1 while this instance pushes contacts",
      "# TYPE brevo_sink_leading gauge",
      `brevo_sink_leading ${h.status === "leading" ? 1 : 0}`,
      "# HELP brevo_sink_last_pass_seconds unix time of the last successful pass",
      "# TYPE brevo_sink_last_pass_seconds gauge",
      `brevo_sink_last_pass_seconds ${h.lastPassAt === undefined ? 0 : Math.floor(h.lastPassAt / 1000)}`,
      "# HELP brevo_sink_drift_contacts sampled contacts whose Brevo state differs from the last push (last check)",
      "# TYPE brevo_sink_drift_contacts gauge",
      `brevo_sink_drift_contacts ${h.drift?.drifted ?? 0}`,
      "",
    ].join("\n");
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
