import { parseArgs } from "node:util";
import { dropGeneration, type GenerationInfo, listGenerations, scrubRetired } from "@sbs/projector/erasure";
import { createPool, inTransaction } from "@sbs/shared";

export const GENERATIONS_USAGE = `usage: pnpm cli generations [--json]
       pnpm cli generations --drop N
       pnpm cli generations --prune [--keep-days D]

Lists the projection's generations (live, building, retired for rollback) with their customers and
how many customers deleted since they froze they still hold personal data of. A retired generation
is frozen at its switch: later deletions do not reach it.
--drop N      removes a generation that is not live (all its rows).
--prune       drops retired generations replaced more than D days ago (GENERATION_RETENTION_DAYS,
              default 7) and scrubs the ones kept: customers deleted in the live generation get
              their deletion (and no personal data) there too. Run it daily (cron).
Environment: DATABASE_URL, DATABASE_SCHEMA (as the projector).`;

const day = 86_400_000;

const line = (g: GenerationInfo) =>
  `g${g.generation}  ${g.state.padEnd(8)}  created ${g.createdAt.toISOString()}  ${
    g.switchedAt ? `live from ${g.switchedAt.toISOString()}` : "never live"
  }${g.retiredAt ? `  retired ${g.retiredAt.toISOString()}` : ""}  ${g.customers} customers${
    g.stalePii > 0 ? `  ${g.stalePii} deleted customers' personal data (--prune scrubs)` : ""
  }`;

export async function runGenerations(
  argv: readonly string[],
  io: { out: (t: string) => void; err: (t: string) => void; env: Record<string, string | undefined> },
): Promise<number> {
  let values: { json?: boolean; drop?: string; prune?: boolean; "keep-days"?: string; help?: boolean };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        json: { type: "boolean" },
        drop: { type: "string" },
        prune: { type: "boolean" },
        "keep-days": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${GENERATIONS_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${GENERATIONS_USAGE}\n`);
    return 0;
  }
  const drop = values.drop === undefined ? undefined : Number(values.drop);
  if (drop !== undefined && !Number.isInteger(drop)) {
    io.err("error: --drop: expected a generation number\n");
    return 2;
  }
  const keepDays = Number(values["keep-days"] ?? io.env["GENERATION_RETENTION_DAYS"] ?? 7);
  if (!Number.isFinite(keepDays) || keepDays < 0) {
    io.err("error: --keep-days: expected a number of days\n");
    return 2;
  }
  const url = io.env["DATABASE_URL"];
  if (!url) {
    io.err("error: DATABASE_URL is required\n");
    return 2;
  }
  const schema = io.env["DATABASE_SCHEMA"] || undefined;
  const pool = createPool({ url, applicationName: "generations", max: 2, ...(schema ? { schema } : {}) });
  try {
    if (drop !== undefined) {
      const rows = await inTransaction(pool, (c) => dropGeneration(c, drop));
      io.err(`dropped generation ${drop} (${rows} rows)\n`);
    }
    if (values.prune) {
      const cutoff = Date.now() - keepDays * day;
      for (const g of await listGenerations(pool)) {
        if (g.state !== "retired") continue;
        if (g.retiredAt !== null && g.retiredAt.getTime() < cutoff) {
          const rows = await inTransaction(pool, (c) => dropGeneration(c, g.generation));
          io.err(
            `dropped g${g.generation}, retired ${g.retiredAt.toISOString()} (over ${keepDays} days; ${rows} rows)\n`,
          );
        } else {
          const rows = await inTransaction(pool, (c) => scrubRetired(c, g.generation));
          io.err(`kept g${g.generation}; carried deletions into ${rows} of its rows\n`);
        }
      }
    }
    const list = await listGenerations(pool);
    io.out(values.json ? `${JSON.stringify(list)}\n` : `${list.map(line).join("\n")}\n`);
    return 0;
  } finally {
    await pool.end();
  }
}
