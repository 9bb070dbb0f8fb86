import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "@sbs/shared";
import { checkSignatureHeader } from "../domain/signature.ts";
import type { IngestMetrics } from "../metrics.ts";
import { type BodyBudget, createBodyBudget } from "./body-budget.ts";
import { readRawBody } from "./raw-body.ts";
import { handleWebhook, reject, type WebhookDeps } from "./webhook.ts";

export const WEBHOOK_PATH = "/webhooks/stripe";

/** What one webhook server may spend on its (public, untrusted) clients. Defaults in config.ts. */
export interface HttpLimits {
  maxBodyBytes: number;
  /** Webhook body bytes held at once by the whole server, buffered or waiting for the broker. */
  bodyBudgetBytes: number;
  /** Bodies above this are "large" and share at most half the budget. */
  largeBodyBytes: number;
  /** A body arriving slower than this over `rateWindowMs` is cut (408 body_too_slow). */
  minBodyBytesPerSecond: number;
  rateWindowMs: number;
  /** Whole request, headers and body (Node's default: 300 s). */
  requestTimeoutMs: number;
  /** Headers only (Node's default: 60 s). */
  headersTimeoutMs: number;
  maxConnections: number;
}

export interface ServerDeps extends WebhookDeps {
  limits: HttpLimits;
  metrics: IngestMetrics;
  logger: Logger;
  /** True once shutdown began: new requests get 503 so the load balancer and Stripe go elsewhere/retry. */
  draining: () => boolean;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Answers and drops the connection: its unread body makes the framing unreliable, and it costs memory. */
function sendAndClose(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  send(res, status, body, { connection: "close", ...headers });
}

/** application/json, with or without parameters (Stripe sends `application/json; charset=utf-8`). */
function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(";");
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "application/json";
}

const RETRY = { "retry-after": "5" };

/**
 * Order: everything decidable from the request line and headers first (method, draining,
 * Content-Type, Stripe-Signature shape and timestamp window, declared size, memory budget), so a
 * request that will be refused costs no buffering; then the body, under the budget and the
 * minimum-rate check; then the HMAC, parsing and the append.
 */
async function webhook(req: IncomingMessage, res: ServerResponse, deps: ServerDeps, budget: BodyBudget) {
  deps.metrics.received.inc();
  if (req.method !== "POST") {
    const r = reject(deps, 405, "method_not_allowed");
    return sendAndClose(res, r.status, r.body, { allow: "POST" });
  }
  if (deps.draining()) {
    const r = reject(deps, 503, "shutting_down");
    return sendAndClose(res, r.status, r.body, RETRY);
  }
  // Node keeps the first of several Content-Type headers; which one a proxy in front honoured is
  // unknown. Ambiguous, so refused, as several Stripe-Signature headers are.
  const contentTypes = req.headersDistinct["content-type"] ?? [];
  if (contentTypes.length > 1) {
    const r = reject(deps, 400, "duplicate_header");
    return sendAndClose(res, r.status, r.body);
  }
  if (!isJson(contentTypes[0] ?? "")) {
    const r = reject(deps, 415, "unsupported_media_type");
    return sendAndClose(res, r.status, r.body);
  }
  const signatureHeader = req.headersDistinct["stripe-signature"];
  const header = checkSignatureHeader(signatureHeader, deps.signature, { now: deps.now });
  if (!header.ok) {
    const r = reject(deps, 400, header.reason);
    return sendAndClose(res, r.status, r.body);
  }

  const body = readRawBody(req, {
    maxBytes: deps.limits.maxBodyBytes,
    budget,
    largeBodyBytes: deps.limits.largeBodyBytes,
    minBytesPerSecond: deps.limits.minBodyBytesPerSecond,
    rateWindowMs: deps.limits.rateWindowMs,
  });
  // Held until the answer is written (or the client is gone): it bounds in-flight bodies as well.
  res.once("close", body.release);
  const raw = await body.result;
  if (!raw.ok) {
    const status = { body_too_large: 413, overloaded: 503, body_too_slow: 408, body_aborted: 400 }[raw.reason];
    const r = reject(deps, status, raw.reason);
    return sendAndClose(res, r.status, r.body, status === 503 ? RETRY : {});
  }
  const response = await handleWebhook(signatureHeader, raw.body, deps);
  send(res, response.status, response.body, response.status === 503 ? RETRY : {});
}

const CLIENT_ERRORS: Record<string, { status: number; text: string; reason: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, text: "Request Timeout", reason: "request_timeout" },
  ERR_HTTP_HEADERS_TIMEOUT: { status: 408, text: "Request Timeout", reason: "headers_timeout" },
  HPE_HEADER_OVERFLOW: { status: 431, text: "Request Header Fields Too Large", reason: "headers_too_large" },
};

/** Node's own refusals (timeouts, unparsable requests) would otherwise be invisible in /metrics. */
function onClientError(error: Error & { code?: string }, socket: Socket, deps: ServerDeps) {
  // A client that hung up is not a rejection; there is nobody to answer.
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = CLIENT_ERRORS[error.code ?? ""] ?? { status: 400, text: "Bad Request", reason: "bad_request" };
  reject(deps, known.status, known.reason);
  const text = JSON.stringify({ error: known.reason });
  socket.end(
    `HTTP/1.1 ${known.status} ${known.text}\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
  );
  socket.destroySoon();
}

/** The public webhook server: it serves the webhook route only (metrics and health are internal). */
export function createHttpServer(deps: ServerDeps): Server & { budget: BodyBudget } {
  const { limits } = deps;
  const budget = createBodyBudget({
    limitBytes: limits.bodyBudgetBytes,
    largeBodyBytes: limits.largeBodyBytes,
    largeShare: 0.5,
  });
  const server = createServer(
    {
      requestTimeout: limits.requestTimeoutMs,
      // Node refuses a headers timeout above the request timeout.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // How often Node checks the two timeouts above (default 30 s, which would stretch them).
      connectionsCheckingInterval: 1000,
      // Stripe reuses connections; keep them open longer than typical proxies' idle timeouts.
      keepAliveTimeout: 65_000,
    },
    (req, res) => {
      const path = req.url?.split("?", 1)[0];
      const handled = path === WEBHOOK_PATH ? webhook(req, res, deps, budget) : notFound(res);
      handled.catch((error: unknown) => {
        deps.logger.error({ err: error, path }, "request failed");
        if (!res.headersSent) send(res, 500, { error: "internal_error" });
        else res.destroy();
      });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on("clientError", (error, socket) => onClientError(error, socket as Socket, deps));
  return Object.assign(server, { budget });
}

async function notFound(res: ServerResponse) {
  sendAndClose(res, 404, { error: "not_found" });
}
