import { AppError, backoffDelay } from "@sbs/shared";
import Stripe from "stripe";
import type { Clock } from "./clock.ts";
import { PINNED_API_VERSION } from "./event-types.ts";
import { createRateLimiter, DEFAULT_REQUESTS_PER_SECOND, type RateLimiter } from "./rate-limiter.ts";

export type StripeMode = "test" | "live";

/** What may be shown about a key: its kind and mode, never the key itself. */
export interface KeyInfo {
  /** `sk_test_`, `sk_live_`, `rk_test_` or `rk_live_`. */
  readonly prefix: string;
  readonly mode: StripeMode;
  readonly restricted: boolean;
}

const KEY_PATTERN = /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/;

/** Throws without echoing the key: only secret (sk_) and restricted (rk_) keys can read the API. */
export function describeKey(apiKey: string): KeyInfo {
  const match = KEY_PATTERN.exec(apiKey);
  const kind = match?.[1];
  const mode = match?.[2];
  if (kind === undefined || (mode !== "test" && mode !== "live")) {
    throw new AppError(
      "invalid_stripe_key",
      "the Stripe key must be a secret or restricted key (sk_test_…, sk_live_…, rk_test_…, rk_live_…)",
    );
  }
  return { prefix: `${kind}_${mode}_`, mode, restricted: kind === "rk" };
}

export interface ApiBase {
  readonly host: string;
  readonly port: number;
  readonly protocol: "http" | "https";
}

/**
 * `STRIPE_API_BASE` (e.g. `http://127.0.0.1:12111` for stripe-mock, or a proxy) as the SDK's
 * host/port/protocol. Only a bare origin: the SDK appends `/v1/...` itself, so a path would be
 * silently dropped and is refused instead.
 */
export function parseApiBase(value: string): ApiBase {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AppError(
      "invalid_stripe_api_base",
      `STRIPE_API_BASE ${JSON.stringify(value)} is not a URL (e.g. http://127.0.0.1:12111)`,
    );
  }
  const protocol = url.protocol === "http:" ? "http" : url.protocol === "https:" ? "https" : null;
  if (protocol === null) {
    throw new AppError("invalid_stripe_api_base", `STRIPE_API_BASE must be http:// or https://, not ${url.protocol}`);
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "" || url.username !== "") {
    throw new AppError(
      "invalid_stripe_api_base",
      `STRIPE_API_BASE must be an origin only (scheme://host[:port]); got ${JSON.stringify(value)}`,
    );
  }
  return {
    // new URL keeps IPv6 literals bracketed; the HTTP client wants the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? (protocol === "https" ? 443 : 80) : Number(url.port),
    protocol,
  };
}

/** Stripe error messages quote keys masked (`sk_test_****abcd`); mask whatever is left anyway. */
export function redactKeys(text: string): string {
  return text.replace(/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9*]+/g, "$1_$2_…");
}

export interface TransportStats {
  /** HTTP requests actually sent, retries included. */
  requests: number;
  /** 429 answers that were retried after a backoff. */
  rateLimitRetries: number;
}

/** The Stripe client plus what the commands need around it. */
export interface StripeConnection {
  readonly client: Stripe;
  readonly limiter: RateLimiter;
  readonly key: KeyInfo;
  readonly stats: TransportStats;
}

export interface StripeConnectionOptions {
  readonly apiKey: string;
  readonly clock: Clock;
  /** Default PINNED_API_VERSION, the version the webhook endpoint is created with. */
  readonly apiVersion?: string;
  readonly requestsPerSecond?: number;
  /** 429 retries per request, done by the transport (the SDK does not retry 429 by itself). */
  readonly maxRateLimitRetries?: number;
  /** First 429 backoff; doubles per retry with full jitter, capped at maxBackoffMs. */
  readonly baseBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** SDK retries of connection errors, 409 and 5xx; they go through the limiter too. */
  readonly maxNetworkRetries?: number;
  readonly timeoutMs?: number;
  /** For the fake Stripe server in tests: `{ host: "127.0.0.1", port, protocol: "http" }`. */
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: "http" | "https";
  /** Injected for deterministic backoff in tests. */
  readonly random?: () => number;
}

/**
 * Builds the SDK client on a transport that (1) takes a rate-limiter slot before every HTTP
 * request, including the SDK's own retries and the page fetches of auto-pagination, and
 * (2) retries 429 answers with exponential backoff. The SDK retries a 429 only when Stripe adds
 * `Stripe-Should-Retry: true`, so the transport strips that hint from the 429 it finally gives
 * up on: 429s are retried in exactly one place, never twice over.
 */
export function createStripeConnection(opts: StripeConnectionOptions): StripeConnection {
  const key = describeKey(opts.apiKey);
  const limiter = createRateLimiter({
    requestsPerSecond: opts.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND,
    clock: opts.clock,
  });
  const stats: TransportStats = { requests: 0, rateLimitRetries: 0 };
  const inner = Stripe.createNodeHttpClient();
  const maxRetries = opts.maxRateLimitRetries ?? 6;
  const backoff = {
    baseDelayMs: opts.baseBackoffMs ?? 1000,
    maxDelayMs: opts.maxBackoffMs ?? 30_000,
    ...(opts.random === undefined ? {} : { random: opts.random }),
  };

  const httpClient: Stripe.HttpClient = {
    getClientName: () => "sbs-rate-limited",
    async makeRequest(host, port, path, method, headers, data, protocol, timeout) {
      for (let attempt = 0; ; attempt++) {
        await limiter.acquire();
        stats.requests++;
        const response = await inner.makeRequest(host, port, path, method, headers, data, protocol, timeout);
        if (response.getStatusCode() !== 429) return response;
        if (attempt >= maxRetries) return withoutRetryHint(response);
        // Read the body so the socket goes back to the pool.
        await response.toJSON().catch(() => undefined);
        stats.rateLimitRetries++;
        await opts.clock.sleep(Math.max(retryAfterMs(response.getHeaders()), backoffDelay(attempt, backoff)));
      }
    },
  };

  const client = new Stripe(opts.apiKey, {
    // The SDK's types only name its latest version; the pin is deliberate (see PINNED_API_VERSION).
    apiVersion: (opts.apiVersion ?? PINNED_API_VERSION) as Stripe.LatestApiVersion,
    httpClient,
    maxNetworkRetries: opts.maxNetworkRetries ?? 2,
    timeout: opts.timeoutMs ?? 80_000,
    telemetry: false,
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.port === undefined ? {} : { port: opts.port }),
    ...(opts.protocol === undefined ? {} : { protocol: opts.protocol }),
  });
  return { client, limiter, key, stats };
}

function retryAfterMs(headers: Readonly<Record<string, unknown>>): number {
  const value = headers["retry-after"];
  const seconds = typeof value === "string" ? Number(value) : Number.NaN;
  // Bounded: a hostile or buggy header must not park the command for hours.
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 60) * 1000 : 0;
}

function withoutRetryHint(response: Stripe.HttpClientResponse): Stripe.HttpClientResponse {
  return {
    getStatusCode: () => response.getStatusCode(),
    getHeaders: () => ({ ...response.getHeaders(), "stripe-should-retry": "false" }),
    getRawResponse: () => response.getRawResponse(),
    toStream: (done) => response.toStream(done),
    toJSON: () => response.toJSON(),
  };
}
