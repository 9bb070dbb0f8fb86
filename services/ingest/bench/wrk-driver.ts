import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * wrk (C, from Debian's packages) drives the load when installed: it needs a fraction of the CPU
 * autocannon needs per request, and on a 2-core machine the load generator's CPU is taken from
 * the server under test. Each request is the next pre-signed delivery, cycled in Lua.
 */
export function wrkAvailable(): boolean {
  const probe = spawnSync("wrk", ["--version"], { stdio: "ignore" });
  return !probe.error;
}

const SEPARATOR = "\x1e"; // ASCII record separator: never inside JSON text or a signature header

const LUA = `
local records = {}
local count = 0
local index = 0
function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  for rec in string.gmatch(data, "([^\\30]+)") do
    local tab = string.find(rec, "\\t", 1, true)
    count = count + 1
    records[count] = { sig = string.sub(rec, 1, tab - 1), body = string.sub(rec, tab + 1) }
  end
  index = math.random(count)
end
function request()
  index = index % count + 1
  local r = records[index]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json; charset=utf-8", ["Stripe-Signature"] = r.sig }, r.body)
end
function done(summary, latency, requests)
  io.write(string.format("WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"non2xx\\":%d,\\"errors\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d}\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
}

export function prepareWrk(deliveries: { body: string; signature: string }[]): { script: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), "ingest-bench-"));
  const script = join(dir, "deliveries.lua");
  const data = join(dir, "deliveries.dat");
  writeFileSync(script, LUA);
  writeFileSync(data, deliveries.map((d) => `${d.signature}\t${d.body}`).join(SEPARATOR));
  return { script, data };
}

export async function runWrk(
  url: string,
  files: { script: string; data: string },
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const child = spawn(
    "wrk",
    [
      "-t",
      "1",
      "-c",
      String(connections),
      "-d",
      `${seconds}s`,
      "--timeout",
      "10s",
      "-s",
      files.script,
      url,
      "--",
      files.data,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  await new Promise((resolve) => child.once("exit", resolve));
  const json = /WRK_JSON (\{.*\})/.exec(out)?.[1];
  if (!json) throw new Error(`wrk printed no summary:\n${out}`);
  const r = JSON.parse(json) as {
    requests: number;
    duration_us: number;
    non2xx: number;
    errors: number;
    p50_us: number;
    p99_us: number;
  };
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: Math.round(r.p50_us / 100) / 10,
    p99: Math.round(r.p99_us / 100) / 10,
    ok: r.requests - r.non2xx,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}
