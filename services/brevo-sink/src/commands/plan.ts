import { createPool } from "@sbs/shared";
import { createPgProjectionSource } from "../adapters/pg-projection-source.ts";
import { createPgSinkState } from "../adapters/pg-sink-state.ts";
import type { ProjectionSource } from "../adapters/projection-source.ts";
import type { SinkState } from "../adapters/sink-state.ts";
import { loadSinkConfigFile } from "../config-file.ts";
import { formatPlan, type PlanSummary, summarize } from "../domain/plan.ts";
import { type SinkConfig, usesHistory } from "../domain/sink-config.ts";
import { diffRows } from "../sync.ts";
import { type Command, EXIT, runCommand } from "./cli.ts";

const usage = `usage: pnpm cli plan [--config sink.yaml] [--sample 10] [--json]

Dry run: diffs every customer of the projection against the last pushed state and prints what a
resync would send (counts per kind and a sample). Never calls Brevo. Needs DATABASE_URL.`;

/** Every customer, page by page, against the last pushed state. No Brevo client is even built. */
export async function planAll(
  deps: { config: SinkConfig; source: ProjectionSource; state: SinkState },
  sampleSize: number,
  pageSize = 5000,
): Promise<PlanSummary> {
  const all: Parameters<typeof summarize>[0][number][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await deps.source.changedSince(cursor, pageSize);
    all.push(...(await diffRows(deps, page.rows)));
    cursor = page.cursor;
    if (page.rows.length < pageSize) break;
  }
  return summarize(all, sampleSize);
}

/** The plan for the sink the environment describes (the CLI's, the dashboard's "what the sink will send"). */
export async function planFromEnv(
  env: Record<string, string | undefined>,
  sampleSize: number,
  configFile?: string,
): Promise<PlanSummary> {
  const config = await loadSinkConfigFile(String(configFile ?? env["SINK_CONFIG_FILE"] ?? "sink.yaml"));
  const url = env["DATABASE_URL"];
  if (!url) throw new Error("DATABASE_URL is required (the projection and the sink state live there)");
  const schema = env["DATABASE_SCHEMA"];
  const pool = createPool({ url, applicationName: "brevo-sink-plan", ...(schema ? { schema } : {}) });
  try {
    return await planAll(
      {
        config,
        source: createPgProjectionSource(pool, {
          schema: env["PROJECTION_SCHEMA"] || undefined,
          history: usesHistory(config),
        }),
        state: createPgSinkState(pool),
      },
      sampleSize,
    );
  } finally {
    await pool.end();
  }
}

export const planCommand: Command = {
  summary: "what a resync would send to Brevo, without calling Brevo",
  usage,
  run: (argv, deps) =>
    runCommand(
      argv,
      { config: { type: "string" }, sample: { type: "string" }, json: { type: "boolean" } },
      usage,
      deps,
      async (values) => {
        const summary = await planFromEnv(
          deps.env,
          Number(values["sample"] ?? 10),
          values["config"] as string | undefined,
        );
        deps.out.write(values["json"] ? `${JSON.stringify(summary)}\n` : `${formatPlan(summary)}\n`);
        return EXIT.ok;
      },
    ),
};
