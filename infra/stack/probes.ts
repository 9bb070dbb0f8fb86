import { Kafka, logLevel } from "kafkajs";
import pg from "pg";

/** Cheap readiness checks, each answering true/false and never throwing. */

export async function kafkaReady(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({
    clientId: "stack-probe",
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function registryReady(ccompatUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${ccompatUrl}/subjects`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function postgresReady(url: string): Promise<boolean> {
  return (await postgresVersion(url)) !== undefined;
}

export async function postgresVersion(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    const res = await client.query<{ server_version: string }>("SHOW server_version");
    return res.rows[0]?.server_version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Asks the registry what it is (Apicurio's system info); falls back to what the URL says. */
export async function registryVersion(ccompatUrl: string): Promise<string> {
  const base = ccompatUrl.replace(/\/apis\/ccompat\/v\d+\/?$/, "");
  try {
    const res = await fetch(`${base}/apis/registry/v3/system/info`, { signal: AbortSignal.timeout(2000) });
    if (res.ok) {
      const info = (await res.json()) as { name?: string; version?: string };
      // Apicurio names itself "Apicurio Registry (In Memory)" whatever its storage; keep the product name.
      if (info.version) return `${(info.name ?? "Apicurio Registry").replace(/\s*\(.*\)$/, "")} ${info.version}`;
    }
  } catch {
    // Not Apicurio, or not reachable: the caller still gets an answer.
  }
  return "unknown (Confluent-compatible)";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `probe` until it answers true; `failFast` lets a dead process end the wait early. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; failFast?: () => string | undefined },
): Promise<"ready" | "timeout" | string> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return "ready";
    const failure = opts.failFast?.();
    if (failure) return failure;
    await sleep(opts.intervalMs ?? 500);
  }
  return "timeout";
}
