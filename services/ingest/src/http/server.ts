import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "@sbs/shared";
import type { IngestMetrics } from "../metrics.ts";
import { readRawBody } from "./raw-body.ts";
import { handleWebhook, reject, type WebhookDeps } from "./webhook.ts";

export const WEBHOOK_PATH = "/webhooks/stripe";

export interface ServerDeps extends WebhookDeps {
  maxBodyBytes: number;
  metrics: IngestMetrics;
  logger: Logger;
  /** Broker reachable (cached by the caller; /readyz is polled often). */
  ready: () => Promise<boolean>;
  /** True once shutdown began: new requests get 503 so the load balancer and Stripe go elsewhere/retry. */
  draining: () => boolean;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** application/json, with or without parameters (Stripe sends `application/json; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/json";
}

async function webhook(req: IncomingMessage, res: ServerResponse, deps: ServerDeps) {
  deps.metrics.received.inc();
  if (req.method !== "POST") {
    const r = reject(deps, 405, "method_not_allowed");
    return send(res, r.status, r.body, { allow: "POST" });
  }
  if (deps.draining()) {
    const r = reject(deps, 503, "shutting_down");
    return send(res, r.status, r.body, { connection: "close", "retry-after": "5" });
  }
  if (!isJson(req.headers["content-type"])) {
    req.resume();
    const r = reject(deps, 415, "unsupported_media_type");
    return send(res, r.status, r.body);
  }
  const raw = await readRawBody(req, deps.maxBodyBytes);
  if (!raw.ok) {
    const r = reject(deps, raw.reason === "body_too_large" ? 413 : 400, raw.reason);
    // After a refused body the connection's framing is unreliable: close it.
    return send(res, r.status, r.body, { connection: "close" });
  }
  const response = await handleWebhook(req.headers["stripe-signature"], raw.body, deps);
  send(res, response.status, response.body, response.status === 503 ? { "retry-after": "5" } : {});
}

export function createHttpServer(deps: ServerDeps): Server {
  const server = createServer((req, res) => {
    const path = req.url?.split("?", 1)[0];
    const handled = (async () => {
      switch (path) {
        case WEBHOOK_PATH:
          return webhook(req, res, deps);
        case "/healthz":
          return send(res, 200, { status: "ok" });
        case "/readyz": {
          const ready = !deps.draining() && (await deps.ready());
          return send(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready" });
        }
        case "/metrics": {
          const text = await deps.metrics.registry.metrics();
          res.writeHead(200, { "content-type": deps.metrics.registry.contentType });
          return res.end(text);
        }
        default:
          req.resume();
          return send(res, 404, { error: "not_found" });
      }
    })();
    handled.catch((error: unknown) => {
      deps.logger.error({ err: error, path }, "request failed");
      if (!res.headersSent) send(res, 500, { error: "internal_error" });
      else res.destroy();
    });
  });
  // Stripe reuses connections; keep them open longer than typical proxies' idle timeouts.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}
