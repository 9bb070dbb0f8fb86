import { createLogger } from "@sbs/shared";
import { migrateAll } from "./migrate-all.ts";

export const MIGRATE_USAGE = `usage: pnpm cli migrate

Applies the projector's and the Brevo sink's migrations (services/*/migrations) as DATABASE_URL's
role, in DATABASE_SCHEMA when set. Run it at deploy time as the owner role; the services then run
as their DML-only roles with MIGRATE_ON_START=false (see README, Data and privacy). Idempotent.`;

export async function runMigrate(
  argv: readonly string[],
  io: { out: (t: string) => void; err: (t: string) => void; env: Record<string, string | undefined> },
): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.out(`${MIGRATE_USAGE}\n`);
    return 0;
  }
  if (argv.length > 0) {
    io.err(`error: unexpected argument ${argv[0]}\n\n${MIGRATE_USAGE}\n`);
    return 2;
  }
  const url = io.env["DATABASE_URL"];
  if (!url) {
    io.err("error: DATABASE_URL is required (the owner role's URL)\n");
    return 2;
  }
  const logger = createLogger({ service: "migrate", level: "warn" });
  const applied = await migrateAll(url, io.env["DATABASE_SCHEMA"] || undefined, logger);
  io.out(applied.length === 0 ? "migrations: up to date\n" : `migrations applied: ${applied.join(", ")}\n`);
  return 0;
}
