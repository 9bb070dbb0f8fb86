import type pg from "pg";
import { parsePrometheusText } from "./prom-text.ts";
import type { Scrape, Target } from "./sample-types.ts";

export type { Scrape, Target };

/** What the dashboard reads: the services' /metrics pages and the project's Postgres tables. */

export async function scrape(target: Target, timeoutMs = 2000): Promise<Scrape> {
  try {
    const res = await fetch(target.url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) return { target, up: false, samples: [], error: `HTTP ${res.status}` };
    return { target, up: true, samples: parsePrometheusText(text) };
  } catch (error) {
    return { target, up: false, samples: [], error: (error as Error).message };
  }
}

/** The targets `pnpm start` runs, unless `--targets name=url,…` names others. */
export const DEFAULT_TARGETS: readonly Target[] = [
  { name: "ingest", url: "http://127.0.0.1:9464/metrics" },
  { name: "projector", url: "http://127.0.0.1:9465/metrics" },
  { name: "brevo-sink", url: "http://127.0.0.1:9466/metrics" },
];

export function parseTargets(text: string): Target[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.indexOf("=");
      const name = part.slice(0, at);
      const url = part.slice(at + 1);
      if (at <= 0 || !/^https?:\/\//.test(url))
        throw new Error(`--targets: expected name=http://host:port/metrics, got "${part}"`);
      return { name, url };
    });
}

type Db = Pick<pg.Client, "query">;

/** A query whose table may not exist yet (a service that never migrated): empty instead of failing the page. */
async function rows<T extends pg.QueryResultRow>(db: Db, text: string, values: unknown[] = []): Promise<T[]> {
  try {
    return (await db.query<T>(text, values)).rows;
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") return [];
    throw error;
  }
}

export interface DeadLetterRow {
  topic: string;
  partition: number;
  offset: string;
  state: string;
  error_class: string;
  reason: string;
  created_at: Date;
}

export const deadLetters = (db: Db, limit = 50) =>
  rows<DeadLetterRow>(
    db,
    `SELECT topic, partition, "offset"::text AS "offset", state, error_class, reason, created_at
       FROM dead_letter ORDER BY created_at DESC, topic, partition, "offset" LIMIT $1`,
    [limit],
  );

export interface FailureRow {
  code: string;
  n: number;
  customers: string[];
  last_failed_at: Date;
}

export const brevoFailures = (db: Db) =>
  rows<FailureRow>(
    db,
    `SELECT code, count(*)::int AS n, (array_agg(ext_id ORDER BY last_failed_at DESC))[1:10] AS customers,
            max(last_failed_at) AS last_failed_at
       FROM brevo_sync_failures GROUP BY code ORDER BY n DESC, code`,
  );

export interface MrrRow {
  currency: string;
  mrr: string;
  subscribers: number;
}

/** Current MRR per currency (minor units), from the live projection. */
export const currentMrr = (db: Db) =>
  rows<MrrRow>(
    db,
    `SELECT m.key AS currency, sum(m.value::bigint)::text AS mrr, count(*) FILTER (WHERE m.value::bigint > 0)::int AS subscribers
       FROM customer_metrics c, jsonb_each_text(c.mrr) m GROUP BY m.key ORDER BY m.key`,
  );
