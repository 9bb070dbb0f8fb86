import { createLogger, createPool, env as envs, loadConfig, migrate } from "@sbs/shared";
import { z } from "zod";
import { createPgSinkState } from "../adapters/pg-sink-state.ts";
import { MIGRATIONS_DIR } from "../app.ts";
import { type Command, EXIT, runCommand } from "./cli.ts";
import { formatChecks, runSelfTest } from "./self-test.ts";

export const SELF_TEST_CURSOR = "brevo_self_test";

const usage = `usage: pnpm cli test-connection --brevo [--folder <id>]

Runs a round trip on a throwaway contact, list and attributes in the Brevo account of
BREVO_API_KEY (BREVO_BASE_URL), one ✓/✗ line per behaviour the sink relies on: create by ext_id,
import with EXT_ID then read back by ext_id, "" clears each attribute type, list remove/add by
ext_id, an event by ext_id, rate-limit headers; then deletes what it created. --folder: the
folder for the throwaway list (default 1). With DATABASE_URL (and DATABASE_SCHEMA) the result is
stored, and the sink checks it at start (SINK_SELF_TEST: warn by default, refuse, or off).
Exit 1 when any check failed.`;

const schema = z.object({
  BREVO_API_KEY: envs.secret("a Brevo API key (xkeysib-…)"),
  BREVO_BASE_URL: envs.url("Brevo API base URL").default("https://api.brevo.com/v3"),
  DATABASE_URL: envs.postgresUrl().optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .optional(),
});

export const testConnectionCommand: Command = {
  summary: "live self-test of every Brevo behaviour the sink relies on (--brevo)",
  usage,
  run: (argv, deps) =>
    runCommand(argv, { brevo: { type: "boolean" }, folder: { type: "string" } }, usage, deps, async (values) => {
      const e = loadConfig("test-connection", schema, deps.env);
      const folderId = Number(values["folder"] ?? 1);
      const checks = await runSelfTest({ baseUrl: e.BREVO_BASE_URL, apiKey: e.BREVO_API_KEY, folderId });
      deps.out.write(`${formatChecks(checks)}\n`);
      if (e.DATABASE_URL !== undefined) {
        const logger = createLogger({ service: "brevo-self-test", level: "warn" });
        const at = e.DATABASE_SCHEMA === undefined ? {} : { schema: e.DATABASE_SCHEMA };
        await migrate({ url: e.DATABASE_URL, dir: MIGRATIONS_DIR, logger, ...at });
        const pool = createPool({ url: e.DATABASE_URL, applicationName: "brevo-self-test", ...at });
        try {
          const failed = checks.filter((c) => !c.ok).map((c) => c.name);
          await createPgSinkState(pool).setCursor(
            SELF_TEST_CURSOR,
            JSON.stringify({ at: new Date().toISOString(), baseUrl: e.BREVO_BASE_URL, failed }),
          );
        } finally {
          await pool.end();
        }
      }
      return checks.every((c) => c.ok) ? EXIT.ok : EXIT.failure;
    }),
};
