import { parseArgs } from "node:util";
import { createSampler } from "./sampler.ts";
import { createDashboardServer, isLoopback, newToken } from "./server.ts";
import { DEFAULT_TARGETS, parseTargets, type Target } from "./sources.ts";

type Env = Record<string, string | undefined>;

export const DASHBOARD_PORT = 9470;

export const dashboardUsage = `usage: pnpm cli dashboard [--port ${DASHBOARD_PORT}] [--host 127.0.0.1] [--targets name=url,…] [--interval-ms 5000]

A local web page for the pipeline: health of every component, throughput and lag over the last
hour, dead letters and Brevo failures, what the sink will send next, MRR now. It samples the
services' /metrics and PostgreSQL every interval into memory (nothing is stored). JSON behind every
panel: /api/health, /api/throughput, /api/problems, /api/plan, /api/saas.

  --port N          where to listen (default ${DASHBOARD_PORT}; 0: any free port)
  --host H          default 127.0.0.1; any other address requires the token it prints
                    (or DASHBOARD_TOKEN), given once as ?token=…
  --targets LIST    the /metrics pages to sample (default: those \`pnpm start\` runs:
                    ${DEFAULT_TARGETS.map((t) => `${t.name}=${t.url}`).join(",")})
  --interval-ms N   sampling interval (default 5000)`;

export interface RunningDashboard {
  readonly url: string;
  close(): Promise<void>;
}

export async function startDashboard(options: {
  env: Env;
  port?: number;
  host?: string;
  targets?: readonly Target[];
  intervalMs?: number;
}): Promise<RunningDashboard> {
  const host = options.host ?? "127.0.0.1";
  const token = isLoopback(host) ? undefined : (options.env["DASHBOARD_TOKEN"] ?? newToken());
  const sampler = createSampler({
    env: options.env,
    targets: options.targets ?? DEFAULT_TARGETS,
    ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
  });
  await sampler.tick();
  sampler.start();
  const server = createDashboardServer({ env: options.env, sampler, token });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DASHBOARD_PORT, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/${token ? `?token=${token}` : ""}`,
    close: async () => {
      sampler.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function runDashboard(
  argv: string[],
  io: { out: (t: string) => void; err: (t: string) => void; env: Env },
) {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        targets: { type: "string" },
        "interval-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${dashboardUsage}\n`);
    return 2;
  }
  if (values["help"]) {
    io.out(`${dashboardUsage}\n`);
    return 0;
  }
  const number = (name: string): number | undefined => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got "${String(raw)}"`);
    return n;
  };
  const dashboard = await startDashboard({
    env: io.env,
    ...(values["host"] ? { host: String(values["host"]) } : {}),
    ...(values["targets"] ? { targets: parseTargets(String(values["targets"])) } : {}),
    ...(number("port") === undefined ? {} : { port: number("port") as number }),
    ...(number("interval-ms") === undefined ? {} : { intervalMs: number("interval-ms") as number }),
  });
  io.err(`dashboard: ${dashboard.url}   (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await dashboard.close();
  io.err("stopped\n");
  return 0;
}
