/**
 * A local stand-in for the Stripe API that the real `stripe` SDK talks to (configure it with
 * `host: "127.0.0.1", port, protocol: "http"`). It follows Stripe's list semantics: newest first
 * (by created, then id), `limit` 1–100 (default 10), `has_more`, `starting_after` /
 * `ending_before` (an unknown anchor is a 400 resource_missing), `created[gt|gte|lt|lte]`,
 * `types[]` and `delivery_success` for events (30-day retention), `status` for subscriptions
 * (default hides canceled, `all` shows all). POST bodies are form-encoded as the SDK sends them.
 * Errors have Stripe's shape `{error:{type,code,message,param}}`: 401 for an unknown key, 403 for
 * a restricted key without the permission, 429 from injected bursts or a token-bucket limit.
 * Every request is recorded with its arrival time so tests can assert retries and rates.
 *
 * Expansion follows the API version it fakes (2025-03-31.basil): a subscription's and an
 * item's `discounts` are bare ids unless the list asks for `expand[]=data.discounts` /
 * `data.items.data.discounts` (the discount objects come from `addDiscount`), and a price's
 * `tiers` are left out unless `expand[]=data.tiers` on the price list (subscription item prices
 * never carry them: that expansion would be 5 levels deep, beyond Stripe's limit of 4).
 * Any other expand path is refused with Stripe's 400, so a typo in the client fails loudly.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const FAKE_SECRET_KEY = "sk_test_fakeSecretKey0000";

export const FAKE_LIST_RESOURCES = [
  "customers",
  "charges",
  "subscriptions",
  "invoices",
  "disputes",
  "products",
  "prices",
  "events",
  "webhook_endpoints",
] as const;
export type FakeListResource = (typeof FAKE_LIST_RESOURCES)[number];
export type FakePermission = FakeListResource | "account" | "balance" | "checkout";

export type StripeObject = Record<string, unknown>;

export interface FakeKey {
  /** Resources this (restricted) key may not read: 403 with Stripe's permission message. */
  readonly deny?: readonly FakePermission[];
}

export interface FakeStripeOptions {
  /** Accepted keys; default `{ [FAKE_SECRET_KEY]: {} }`. */
  readonly keys?: Readonly<Record<string, FakeKey>>;
  /** Stripe's clock in unix seconds (event retention, created of new objects); default real time. */
  readonly nowSeconds?: () => number;
  /** A real token bucket: requests beyond it get 429. */
  readonly rateLimit?: { readonly requestsPerSecond: number; readonly burst?: number };
  readonly account?: StripeObject;
}

export interface FakeRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  /** Decoded query (GET) or form body (POST), brackets expanded into objects and arrays. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly status: number;
  /** performance.now() at arrival, milliseconds. */
  readonly at: number;
  readonly stripeVersion: string | undefined;
  readonly idempotencyKey: string | undefined;
}

export interface FailureInjection {
  readonly status?: number;
  /** Sends `Stripe-Should-Retry: true`, which makes the SDK retry on its own. */
  readonly shouldRetry?: boolean;
  /** Seconds, sent as `Retry-After`. */
  readonly retryAfter?: number;
  /** Only requests with this method (and path, if given) consume the failure. */
  readonly method?: string;
  readonly path?: string;
  /**
   * Answer with exactly this body text instead of a Stripe error (status 200 unless given):
   * what a broken proxy or a misconfigured STRIPE_API_BASE may return.
   */
  readonly rawBody?: string;
}

export interface FakeStripe {
  readonly host: "127.0.0.1";
  readonly port: number;
  readonly requests: FakeRequest[];
  /** Webhook endpoints created through the API, with their secret. */
  readonly webhookEndpoints: StripeObject[];
  add(resource: FakeListResource, ...objects: StripeObject[]): void;
  addEvent(event: StripeObject, meta?: { deliverySuccess?: boolean }): void;
  remove(resource: FakeListResource, id: string): void;
  /** Discount objects, which have no list endpoint: reachable only through expansion. */
  addDiscount(...discounts: StripeObject[]): void;
  /**
   * A checkout session and its line items (Stripe `item` objects), served by
   * `GET /v1/checkout/sessions/{id}/line_items` in the order given, as Stripe lists them.
   */
  addCheckoutSession(session: StripeObject, lineItems: readonly StripeObject[]): void;
  /** Fail the next `count` (matching) requests, 429 unless told otherwise, before any other check. */
  failNext(count: number, failure?: FailureInjection): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
interface Answer {
  readonly status: number;
  /** A string is sent as it is (injected malformed answers); an object as JSON. */
  readonly body: Json | string;
  readonly headers?: Readonly<Record<string, string>>;
}

const RETENTION_SECONDS = 30 * 24 * 3600;

export async function startFakeStripe(options: FakeStripeOptions = {}): Promise<FakeStripe> {
  const keys = options.keys ?? { [FAKE_SECRET_KEY]: {} };
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const store = new Map<FakeListResource, StripeObject[]>(FAKE_LIST_RESOURCES.map((r) => [r, []]));
  const deliverySuccess = new Map<string, boolean>();
  const requests: FakeRequest[] = [];
  const webhookEndpoints: StripeObject[] = [];
  const idempotent = new Map<string, Answer>();
  const failures: FailureInjection[] = [];
  const bucket = options.rateLimit
    ? { tokens: options.rateLimit.burst ?? options.rateLimit.requestsPerSecond, last: performance.now() }
    : undefined;

  const collection = (resource: FakeListResource): StripeObject[] => store.get(resource) ?? [];
  const discounts = new Map<string, StripeObject>();
  const checkoutSessions = new Map<string, { session: StripeObject; lineItems: readonly StripeObject[] }>();

  const takeToken = (): boolean => {
    if (!bucket || !options.rateLimit) return true;
    const now = performance.now();
    const capacity = options.rateLimit.burst ?? options.rateLimit.requestsPerSecond;
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((now - bucket.last) / 1000) * options.rateLimit.requestsPerSecond,
    );
    bucket.last = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  };

  const handle = (method: string, path: string, params: Json, req: IncomingMessage): Answer => {
    const failureIndex = failures.findIndex(
      (f) => (f.method === undefined || f.method === method) && (f.path === undefined || f.path === path),
    );
    const failure = failureIndex < 0 ? undefined : failures.splice(failureIndex, 1)[0];
    if (failure?.rawBody !== undefined) return { status: failure.status ?? 200, body: failure.rawBody };
    if (failure) {
      const status = failure.status ?? 429;
      return {
        status,
        body: stripeError(
          status === 429 ? "invalid_request_error" : "api_error",
          status === 429
            ? "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."
            : "An unknown error occurred.",
          status === 429 ? "rate_limit" : undefined,
        ),
        headers: {
          ...(failure.shouldRetry ? { "stripe-should-retry": "true" } : {}),
          ...(failure.retryAfter === undefined ? {} : { "retry-after": String(failure.retryAfter) }),
        },
      };
    }
    if (!takeToken()) {
      return {
        status: 429,
        body: stripeError(
          "invalid_request_error",
          "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
          "rate_limit",
        ),
      };
    }
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (auth === undefined) {
      return {
        status: 401,
        body: stripeError(
          "invalid_request_error",
          "You did not provide an API key. You need to provide your API key in the Authorization header.",
        ),
      };
    }
    const key = keys[auth];
    if (key === undefined) {
      return { status: 401, body: stripeError("invalid_request_error", `Invalid API Key provided: ${maskKey(auth)}`) };
    }
    const segments = path.replace(/^\/v1\//, "").split("/");
    const resource = segments[0] ?? "";
    if (key.deny?.some((denied) => denied === resource)) {
      return {
        status: 403,
        body: stripeError(
          "invalid_request_error",
          `The provided key '${maskKey(auth)}' does not have the required permissions for this endpoint on account ` +
            `'acct_fake'. Having the 'rak_${resource.replace(/s$/, "")}_read' permission would allow this request to continue.`,
        ),
      };
    }

    if (method === "GET" && path === "/v1/account") return { status: 200, body: options.account ?? defaultAccount() };
    if (method === "GET" && path === "/v1/balance") {
      return { status: 200, body: { object: "balance", available: [], pending: [], livemode: false } };
    }
    if (method === "POST" && path === "/v1/webhook_endpoints") {
      const idempotencyKey = header(req, "idempotency-key");
      const previous = idempotencyKey === undefined ? undefined : idempotent.get(idempotencyKey);
      if (previous) return previous;
      const answer = createWebhookEndpoint(params);
      if (idempotencyKey !== undefined) idempotent.set(idempotencyKey, answer);
      return answer;
    }
    const listed = FAKE_LIST_RESOURCES.find((r) => `/v1/${r}` === path);
    if (method === "GET" && listed !== undefined) return list(listed, params);
    const lineItemsOf = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(path);
    if (method === "GET" && lineItemsOf !== null)
      return listLineItems(decodeURIComponent(lineItemsOf[1] ?? ""), params);
    return {
      status: 404,
      body: stripeError("invalid_request_error", `Unrecognized request URL (${method}: ${path}).`),
    };
  };

  const list = (resource: FakeListResource, params: Json): Answer => {
    const limitParam = params["limit"];
    const limit = limitParam === undefined ? 10 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return invalid("parameter_invalid_integer", "limit", "Invalid integer: limit must be between 1 and 100.");
    }
    const startingAfter = stringParam(params["starting_after"]);
    const endingBefore = stringParam(params["ending_before"]);
    if (startingAfter !== undefined && endingBefore !== undefined) {
      return invalid(
        "parameter_invalid_string",
        "starting_after",
        "You may only specify one of these parameters: ending_before, starting_after.",
      );
    }
    const all = sortNewestFirst(collection(resource));
    const now = nowSeconds();
    const created = params["created"];
    let matching = all.filter((o) => matchesCreated(o, created));
    if (resource === "events") {
      matching = matching.filter((o) => num(o["created"]) >= now - RETENTION_SECONDS);
      const types = arrayParam(params["types"]);
      const type = stringParam(params["type"]);
      if (types !== undefined && types.length > 20) {
        return invalid("parameter_invalid_array", "types", "types may contain at most 20 entries.");
      }
      if (types !== undefined) matching = matching.filter((o) => types.includes(String(o["type"])));
      if (type !== undefined) matching = matching.filter((o) => globMatch(type, String(o["type"])));
      const delivery = stringParam(params["delivery_success"]);
      if (delivery !== undefined) {
        matching = matching.filter((o) => (deliverySuccess.get(String(o["id"])) ?? true) === (delivery === "true"));
      }
    }
    if (resource === "subscriptions") {
      const status = stringParam(params["status"]);
      matching = matching.filter((o) => {
        const s = String(o["status"]);
        if (status === "all") return true;
        if (status === undefined) return s !== "canceled";
        if (status === "ended") return s === "canceled" || s === "incomplete_expired";
        return s === status;
      });
    }
    const anchorId = startingAfter ?? endingBefore;
    let page: StripeObject[];
    let hasMore: boolean;
    if (anchorId === undefined) {
      page = matching.slice(0, limit);
      hasMore = matching.length > limit;
    } else {
      const anchor = all.find((o) => o["id"] === anchorId);
      if (anchor === undefined) {
        const param = startingAfter === undefined ? "ending_before" : "starting_after";
        return invalid("resource_missing", param, `No such ${singular(resource)}: '${anchorId}'`);
      }
      if (startingAfter !== undefined) {
        const after = matching.filter((o) => compareListOrder(o, anchor) > 0);
        page = after.slice(0, limit);
        hasMore = after.length > limit;
      } else {
        const before = matching.filter((o) => compareListOrder(o, anchor) < 0);
        page = before.slice(Math.max(0, before.length - limit));
        hasMore = before.length > limit;
      }
    }
    const expand = arrayParam(params["expand"]) ?? [];
    const unknown = expand.find((path) => !(EXPANDABLE[resource] ?? []).includes(path));
    if (unknown !== undefined) {
      return invalid(
        "parameter_invalid_string",
        "expand",
        `This property cannot be expanded (${unknown.replace(/^data\./, "")}).`,
      );
    }
    return {
      status: 200,
      body: {
        object: "list",
        data: page.map((o) => render(resource, structuredClone(o), expand, discounts)),
        has_more: hasMore,
        url: `/v1/${resource}`,
      },
    };
  };

  /** Stripe lists a session's items in their order (not newest first), paged by item id. */
  const listLineItems = (sessionId: string, params: Json): Answer => {
    const entry = checkoutSessions.get(sessionId);
    if (entry === undefined) {
      return {
        status: 404,
        body: stripeError(
          "invalid_request_error",
          `No such checkout.session: '${sessionId}'`,
          "resource_missing",
          "id",
        ),
      };
    }
    const limitParam = params["limit"];
    const limit = limitParam === undefined ? 10 : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return invalid("parameter_invalid_integer", "limit", "Invalid integer: limit must be between 1 and 100.");
    }
    const startingAfter = stringParam(params["starting_after"]);
    let from = 0;
    if (startingAfter !== undefined) {
      const index = entry.lineItems.findIndex((o) => o["id"] === startingAfter);
      if (index < 0) return invalid("resource_missing", "starting_after", `No such line item: '${startingAfter}'`);
      from = index + 1;
    }
    const page = entry.lineItems.slice(from, from + limit);
    return {
      status: 200,
      body: {
        object: "list",
        data: page.map((o) => structuredClone(o)),
        has_more: from + limit < entry.lineItems.length,
        url: `/v1/checkout/sessions/${sessionId}/line_items`,
      },
    };
  };

  const createWebhookEndpoint = (params: Json): Answer => {
    const url = stringParam(params["url"]);
    if (url === undefined) return invalid("parameter_missing", "url", "Missing required param: url.");
    const events = arrayParam(params["enabled_events"]);
    if (events === undefined || events.length === 0) {
      return invalid("parameter_missing", "enabled_events", "Missing required param: enabled_events.");
    }
    const bad = events.find((e) => !/^(\*|[a-z_]+(\.[a-z_]+)+)$/.test(e));
    if (bad !== undefined) {
      return invalid("parameter_invalid_string", "enabled_events", `Invalid enabled_events value: ${bad}`);
    }
    const endpoint: StripeObject = {
      id: `we_${randomBytes(12).toString("hex")}`,
      object: "webhook_endpoint",
      api_version: stringParam(params["api_version"]) ?? null,
      application: null,
      created: nowSeconds(),
      description: stringParam(params["description"]) ?? null,
      enabled_events: events,
      livemode: false,
      metadata: typeof params["metadata"] === "object" && params["metadata"] !== null ? params["metadata"] : {},
      status: "enabled",
      url,
    };
    const secret = `whsec_${randomBytes(24).toString("hex")}`;
    webhookEndpoints.push({ ...endpoint, secret });
    collection("webhook_endpoints").push(endpoint);
    return { status: 200, body: { ...endpoint, secret } };
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method ?? "GET";
      const form = method === "GET" ? url.searchParams : new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      const params = parseStripeParams(form);
      let answer: Answer;
      try {
        answer = handle(method, url.pathname, params, req);
      } catch (error) {
        answer = { status: 500, body: stripeError("api_error", `fake stripe failed: ${String(error)}`) };
      }
      requests.push({
        method,
        path: url.pathname,
        params,
        status: answer.status,
        at,
        stripeVersion: header(req, "stripe-version"),
        idempotencyKey: header(req, "idempotency-key"),
      });
      res.writeHead(answer.status, {
        "content-type": "application/json",
        "request-id": `req_${randomBytes(7).toString("hex")}`,
        ...(header(req, "stripe-version") === undefined ? {} : { "stripe-version": header(req, "stripe-version") }),
        ...answer.headers,
      });
      res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    host: "127.0.0.1",
    port,
    requests,
    webhookEndpoints,
    add(resource, ...objects) {
      collection(resource).push(...objects.map((o) => structuredClone(o)));
    },
    addEvent(event, meta = {}) {
      collection("events").push(structuredClone(event));
      if (meta.deliverySuccess !== undefined) deliverySuccess.set(String(event["id"]), meta.deliverySuccess);
    },
    addDiscount(...added) {
      for (const d of added) discounts.set(String(d["id"]), structuredClone(d));
    },
    addCheckoutSession(session, lineItems) {
      checkoutSessions.set(String(session["id"]), {
        session: structuredClone(session),
        lineItems: structuredClone(lineItems),
      });
    },
    remove(resource, id) {
      const objects = collection(resource);
      const index = objects.findIndex((o) => o["id"] === id);
      if (index >= 0) objects.splice(index, 1);
    },
    failNext(count, failure = {}) {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** The expand paths each list accepts (the ones clients of this fake use; Stripe accepts more). */
const EXPANDABLE: Partial<Record<FakeListResource, readonly string[]>> = {
  // `data.items.data.price.tiers` would be 5 levels: Stripe allows 4, so item prices never carry tiers.
  subscriptions: ["data.discounts", "data.items.data.discounts"],
  charges: ["data.refunds"],
  prices: ["data.tiers"],
};

/**
 * An object as the API renders it for this request: stored discount objects or ids become ids
 * unless expanded, and price tiers are dropped unless expanded.
 */
function render(
  resource: FakeListResource,
  object: StripeObject,
  expand: readonly string[],
  discounts: ReadonlyMap<string, StripeObject>,
): StripeObject {
  const discountList = (value: unknown, expanded: boolean): unknown =>
    Array.isArray(value)
      ? value.map((d) => {
          const id = typeof d === "string" ? d : String((d as StripeObject)["id"]);
          return expanded ? structuredClone(discounts.get(id) ?? d) : id;
        })
      : value;
  const withoutTiers = (price: unknown, expanded: boolean): unknown => {
    if (expanded || typeof price !== "object" || price === null) return price;
    const { tiers: _tiers, ...rest } = price as StripeObject;
    return rest;
  };
  if (resource === "prices") return withoutTiers(object, expand.includes("data.tiers")) as StripeObject;
  if (resource !== "subscriptions") return object;
  const items = object["items"] as { data?: StripeObject[] } | undefined;
  return {
    ...object,
    ...("discounts" in object
      ? { discounts: discountList(object["discounts"], expand.includes("data.discounts")) }
      : {}),
    ...(items?.data
      ? {
          items: {
            ...items,
            data: items.data.map((item) => ({
              ...item,
              ...("discounts" in item
                ? { discounts: discountList(item["discounts"], expand.includes("data.items.data.discounts")) }
                : {}),
              ...("price" in item ? { price: withoutTiers(item["price"], false) } : {}),
            })),
          },
        }
      : {}),
  };
}

/** Stripe's list order: created descending, then id descending (a stable stand-in for Stripe's own tie order). */
export function compareListOrder(a: StripeObject, b: StripeObject): number {
  const byCreated = num(b["created"]) - num(a["created"]);
  if (byCreated !== 0) return byCreated;
  const ia = String(a["id"]);
  const ib = String(b["id"]);
  return ia < ib ? 1 : ia > ib ? -1 : 0;
}

export function sortNewestFirst(objects: readonly StripeObject[]): StripeObject[] {
  return [...objects].sort(compareListOrder);
}

/**
 * `a[b][c]=1&list[0]=x&list[]=y` → `{ a: { b: { c: "1" } }, list: ["x", "y"] }`: the encoding
 * stripe-node uses for query strings and form bodies.
 */
export function parseStripeParams(form: URLSearchParams): Json {
  const root: Json = {};
  for (const [rawKey, value] of form) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(rawKey);
    if (!match) continue;
    const path = [match[1] ?? "", ...[...(match[2] ?? "").matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] ?? "")];
    let node: Json | unknown[] = root;
    for (const [i, segment] of path.entries()) {
      const last = i === path.length - 1;
      const key: string | number = Array.isArray(node) ? (segment === "" ? node.length : Number(segment)) : segment;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
        continue;
      }
      if (container[key] === undefined) container[key] = /^\d*$/.test(path[i + 1] ?? "") ? [] : {};
      node = container[key] as Json | unknown[];
    }
  }
  return root;
}

function matchesCreated(object: StripeObject, filter: unknown): boolean {
  if (filter === undefined) return true;
  const created = num(object["created"]);
  if (typeof filter === "string") return created === Number(filter);
  if (typeof filter !== "object" || filter === null) return true;
  const f = filter as Record<string, unknown>;
  const bound = (name: string) => (f[name] === undefined ? undefined : Number(f[name]));
  const gt = bound("gt");
  const gte = bound("gte");
  const lt = bound("lt");
  const lte = bound("lte");
  return (
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte)
  );
}

function globMatch(pattern: string, type: string): boolean {
  return pattern.endsWith(".*") ? type.startsWith(pattern.slice(0, -1)) : pattern === type;
}

function stripeError(type: string, message: string, code?: string, param?: string): Json {
  return {
    error: {
      type,
      message,
      ...(code === undefined
        ? {}
        : { code, doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, "-")}` }),
      ...(param === undefined ? {} : { param }),
    },
  };
}

function invalid(code: string, param: string, message: string): Answer {
  return { status: 400, body: stripeError("invalid_request_error", message, code, param) };
}

function maskKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? "";
  return `${prefix}${"*".repeat(Math.max(0, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

function singular(resource: FakeListResource): string {
  return resource === "webhook_endpoints" ? "webhook_endpoint" : resource.replace(/s$/, "");
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function stringParam(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function arrayParam(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "object" && value !== null) return Object.values(value).map(String);
  return [String(value)];
}

function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

function defaultAccount(): Json {
  return {
    id: "acct_1PgafTB7WZ01zgkW",
    object: "account",
    business_profile: { name: "Fake Stripe Ltd" },
    country: "US",
    default_currency: "usd",
    email: "site@stripe.com",
    settings: { dashboard: { display_name: "Fake Stripe Ltd" } },
  };
}
