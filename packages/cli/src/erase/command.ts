import { parseArgs } from "node:util";
import { createTransportFromEnv } from "@sbs/brevo-sink/app";
import { loadSinkEnv } from "@sbs/brevo-sink/config";
import { createLogger, createPool } from "@sbs/shared";
import { type DeleteContact, erase } from "./erase.ts";

export const ERASE_USAGE = `usage: pnpm cli erase <customer id | email> [--reason TEXT] [--skip-brevo] [--settle-ms N]

Right to erasure (GDPR Art. 17) for one person:
  - records the erasure in the erasure list (SHA-256 digests of the customer id, its objects' ids
    and its emails; no id in clear): the projector skips every event naming them, on every fold and
    rebuild, so no replay, backfill or late webhook brings them back;
  - deletes their rows from every projection generation and from the sink's tables (pushed state,
    failures, event ledger);
  - deletes the Brevo contact through the sink's transport (rate limits, retries);
  - waits --settle-ms (default twice SUPERVISE_INTERVAL_MS) and does it again for what was in flight.
A guest (a checkout without Stripe customer, known to the sink only): erase <email> removes the
sink's event-ledger rows under the email's hash and deletes the Brevo contact by email. Guest
checkout events are NOT removed by compact-log yet (it matches ids, not checkout emails).
The events stay in the Kafka topic until \`pnpm cli compact-log\` copies it without them (batched,
e.g. weekly). Idempotent: run it again to finish an interrupted erasure.
--reason is stored as given: a ticket reference, never the person's name.
Environment: DATABASE_URL (the owner role), DATABASE_SCHEMA (PROJECTION_SCHEMA when the projector's
tables are elsewhere), BREVO_API_KEY / BREVO_BASE_URL as the sink.`;

export async function runErase(
  argv: readonly string[],
  io: { out: (t: string) => void; err: (t: string) => void; env: Record<string, string | undefined> },
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      args: [...argv],
      options: {
        reason: { type: "string" },
        "skip-brevo": { type: "boolean" },
        "settle-ms": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  try {
    parsed = parse();
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${ERASE_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(`${ERASE_USAGE}\n`);
    return 0;
  }
  const subject = positionals[0]?.trim();
  if (subject === undefined || subject === "" || positionals.length > 1) {
    io.err(`error: give exactly one customer id or email\n\n${ERASE_USAGE}\n`);
    return 2;
  }
  const settleMs = Number(values["settle-ms"] ?? 2 * Number(io.env["SUPERVISE_INTERVAL_MS"] ?? 5000));
  if (!Number.isFinite(settleMs) || settleMs < 0) {
    io.err("error: --settle-ms: expected a number of milliseconds\n");
    return 2;
  }
  const url = io.env["DATABASE_URL"];
  if (!url) {
    io.err("error: DATABASE_URL is required (the owner role's URL)\n");
    return 2;
  }
  const logger = createLogger({ service: "erase", level: io.env["LOG_LEVEL"] === "debug" ? "debug" : "warn" });
  let deleteContact: DeleteContact | undefined;
  if (!values["skip-brevo"]) {
    if (!io.env["BREVO_API_KEY"]) {
      io.err("error: BREVO_API_KEY is required to delete the Brevo contact (or --skip-brevo, and run again later)\n");
      return 2;
    }
    const transport = createTransportFromEnv(loadSinkEnv(io.env), { logger });
    deleteContact = async (identifier, identifierType) => {
      const r = await transport.deleteContact(identifier, identifierType);
      return r.ok ? { ok: true } : { ok: false, code: r.code, message: r.message };
    };
  }
  const sinkSchema = io.env["DATABASE_SCHEMA"] || undefined;
  const projectorSchema = io.env["PROJECTION_SCHEMA"] || sinkSchema;
  const projector = createPool({
    url,
    applicationName: "erase",
    max: 2,
    ...(projectorSchema ? { schema: projectorSchema } : {}),
  });
  const sink =
    projectorSchema === sinkSchema
      ? projector
      : createPool({ url, applicationName: "erase", max: 2, ...(sinkSchema ? { schema: sinkSchema } : {}) });
  try {
    const report = await erase(subject, values.reason ?? null, {
      projector,
      sink,
      deleteContact,
      settleMs,
      say: (line) => io.err(`erase: ${line}\n`),
    });
    io.out(`${JSON.stringify(report)}\n`);
    return report.brevo === "failed" ? 1 : 0;
  } finally {
    await projector.end();
    if (sink !== projector) await sink.end();
  }
}
