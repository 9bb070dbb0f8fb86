import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { planFromEnv } from "@sbs/brevo-sink/commands";
import { createPool } from "@sbs/shared";
import { renderPage } from "./page.ts";
import { healthPanel, problemsPanel, saasPanel } from "./panels.ts";
import type { Sampler } from "./sampler.ts";
import { brevoFailures, currentMrr, deadLetters } from "./sources.ts";

type Env = Record<string, string | undefined>;

const HERE = dirname(fileURLToPath(import.meta.url));
const UPLOT = dirname(createRequire(import.meta.url).resolve("uplot"));
/** Files the page loads: the charting library from node_modules (no CDN: it works offline) and ours. */
const STATIC: Record<string, { file: string; type: string }> = {
  "/static/uPlot.iife.min.js": { file: join(UPLOT, "uPlot.iife.min.js"), type: "text/javascript" },
  "/static/uPlot.min.css": { file: join(UPLOT, "uPlot.min.css"), type: "text/css" },
  "/static/dashboard.js": { file: join(HERE, "dashboard.js"), type: "text/javascript" },
  "/static/dashboard.css": { file: join(HERE, "dashboard.css"), type: "text/css" },
};

export interface DashboardOptions {
  readonly env: Env;
  readonly sampler: Sampler;
  /** Required when the dashboard listens beyond loopback: `?token=` once (a cookie after that) or `Authorization: Bearer`. */
  readonly token?: string | undefined;
}

const PLAN_CACHE_MS = 30_000;

export function createDashboardServer(options: DashboardOptions): Server {
  const schema = options.env["DATABASE_SCHEMA"];
  const url = options.env["DATABASE_URL"];
  const pool = url
    ? createPool({ url, applicationName: "dashboard", max: 2, ...(schema ? { schema } : {}) })
    : undefined;
  // The plan diffs every customer: computed at most every 30 s, whatever the number of viewers.
  let plan: { at: number; value: Promise<Awaited<ReturnType<typeof planFromEnv>> | { error: string }> } | undefined;
  const currentPlan = () => {
    if (plan === undefined || Date.now() - plan.at > PLAN_CACHE_MS)
      plan = { at: Date.now(), value: planFromEnv(options.env, 10).catch((e: Error) => ({ error: e.message })) };
    return plan.value;
  };
  const needPool = () => {
    if (!pool) throw new Error("DATABASE_URL is not set: no stack found (pnpm start, or the three stack variables)");
    return pool;
  };

  const panels = {
    health: async () => {
      const l = options.sampler.latest();
      return healthPanel(l.scrapes, l.status);
    },
    throughput: async () => options.sampler.columns(),
    problems: async () => {
      const l = options.sampler.latest();
      const db = needPool();
      return problemsPanel(await deadLetters(db), await brevoFailures(db), l.scrapes);
    },
    plan: currentPlan,
    saas: async () => saasPanel(await currentMrr(needPool()), options.sampler.latest().status),
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: Error) =>
      send(res, 500, "application/json", JSON.stringify({ error: error.message })),
    );
  });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    if (req.method !== "GET") return send(res, 405, "application/json", '{"error":"GET only"}');
    if (options.token !== undefined && !authorised(req, url, options.token, res)) {
      return send(res, 401, "text/plain", "a token is required: open the URL the dashboard printed (…?token=…)\n");
    }
    if (url.pathname === "/favicon.ico") return send(res, 204, "image/x-icon", "");
    const asset = STATIC[url.pathname];
    if (asset) return send(res, 200, asset.type, readFileSync(asset.file));
    const api = /^\/api\/(health|throughput|problems|plan|saas)$/.exec(url.pathname)?.[1] as
      | keyof typeof panels
      | undefined;
    if (api) return send(res, 200, "application/json", JSON.stringify(await panels[api]()));
    if (url.pathname === "/") {
      const [health, problems, saas, planNow] = await Promise.all([
        panels.health(),
        panels.problems(),
        panels.saas(),
        panels.plan(),
      ]);
      const at = options.sampler.latest().at;
      return send(
        res,
        200,
        "text/html; charset=utf-8",
        renderPage({ health, problems, saas, plan: planNow, sampledAt: at ? new Date(at).toISOString() : null }),
      );
    }
    return send(res, 404, "application/json", '{"error":"not found"}');
  };
  server.on("close", () => void pool?.end());
  return server;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer) {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    // Everything the page loads is served from here.
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
  });
  res.end(body);
}

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

function authorised(req: IncomingMessage, url: URL, token: string, res: ServerResponse): boolean {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  const cookie = /(?:^|;\s*)sbs_dashboard=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
  const query = url.searchParams.get("token");
  if (query !== null && same(query, token)) {
    res.setHeader("set-cookie", `sbs_dashboard=${token}; HttpOnly; SameSite=Strict; Path=/`);
    return true;
  }
  return [bearer, cookie].some((t) => t !== undefined && same(t, token));
}

export const newToken = () => randomBytes(18).toString("base64url");

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
