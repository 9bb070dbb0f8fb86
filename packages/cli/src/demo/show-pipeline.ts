import pg from "pg";
import { createProgress } from "../progress.ts";
import type { PipelineInfo } from "../start/pipeline-files.ts";
import { collectStatus } from "../status/status.ts";

type Env = Record<string, string | undefined>;
interface Io {
  err: (text: string) => void;
  env: Env;
  isTTY: boolean;
}

/** How long the demo waits for the projector and the sink to finish what it delivered. */
const SETTLE_TIMEOUT_MS = 180_000;
const POLL_MS = 1000;

/**
 * After a demo delivery: waits (bounded, one progress line) until the projector has applied every
 * record and the sink has pushed every change, then prints the top customers from the
 * `customer_metrics` view, what Brevo holds for them, and why any customer has no contact.
 */
export async function showPipeline(pipeline: PipelineInfo, customers: number, io: Io): Promise<string> {
  const client = new pg.Client({ connectionString: pipeline.databaseUrl });
  await client.connect();
  try {
    const settled = await waitUntilSettled(customers, io);
    const top = await client.query<Record<string, unknown>>(
      `SELECT customer_id, total_spent, mrr, subscription_status, plan_name
         FROM customer_metrics ORDER BY payment_count DESC, customer_id LIMIT 10`,
    );
    const lines = top.rows.map(
      (r) =>
        `${String(r["customer_id"]).padEnd(22)} ${JSON.stringify(r["total_spent"]).padEnd(22)} ${JSON.stringify(r["mrr"]).padEnd(18)} ${String(r["subscription_status"] ?? "-").padEnd(10)} ${r["plan_name"] ?? "-"}`,
    );
    const brevo = await brevoContacts(
      pipeline,
      top.rows.map((r) => String(r["customer_id"])),
      io.env,
      await whyNoContact(client),
    );
    return [
      ...(settled.ok ? [] : [`\n${settled.message}`]),
      `\nprojections (customer_metrics), top 10 by payments:`,
      `${"customer".padEnd(22)} ${"total_spent".padEnd(22)} ${"mrr".padEnd(18)} ${"status".padEnd(10)} plan`,
      ...lines,
      "",
      ...brevo,
      "",
      ...(await contactSummary(client)),
      "",
    ].join("\n");
  } finally {
    await client.end();
  }
}

/**
 * Settled: every generated customer is projected, no partition has lag, no cross-partition
 * request waits in the projector's mailboxes, and the sink's change
 * cursor has passed every projected change — twice in a row, a poll apart (a batch committed
 * between two reads would otherwise look like the end).
 */
async function waitUntilSettled(customers: number, io: Io): Promise<{ ok: true } | { ok: false; message: string }> {
  const progress = createProgress(io.err, io.isTTY);
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let calmPolls = 0;
  let text = "";
  while (Date.now() < deadline) {
    const report = await collectStatus(io.env);
    const projected = report.projector?.customers ?? 0;
    const lag = report.projector?.partitions.reduce((sum, p) => sum + p.lag, 0);
    const backlog = report.sink?.backlog;
    const mailbox = report.projector?.mailbox;
    text = `waiting for the pipeline: ${projected}/${customers} customers projected, projector lag ${lag ?? "unknown"} records, mailbox ${mailbox ?? "unknown"}, sink backlog ${backlog ?? "not started yet"}`;
    progress.update(text);
    calmPolls = projected >= customers && lag === 0 && mailbox === 0 && backlog === 0 ? calmPolls + 1 : 0;
    if (calmPolls >= 2) {
      progress.done(`the pipeline settled: ${projected} customers projected, every change pushed to Brevo`);
      return { ok: true };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  progress.done();
  return {
    ok: false,
    message: `NOT SETTLED after ${SETTLE_TIMEOUT_MS / 1000} s (last: ${text.replace("waiting for the pipeline: ", "")}); what follows may be partial — see pnpm cli status and .stack/logs/`,
  };
}

/** Per customer without a contact: deleted in Stripe, no email, or what Brevo refused. */
async function whyNoContact(client: Pick<pg.Client, "query">): Promise<Map<string, string>> {
  const { rows } = await client.query<{ customer_id: string; why: string }>(
    `SELECT m.customer_id,
            CASE WHEN m.deleted THEN 'deleted in Stripe'
                 WHEN m.email IS NULL THEN 'no email'
                 WHEN f.code IS NOT NULL THEN 'refused by Brevo (' || f.code || ')'
                 ELSE 'not pushed yet' END AS why
       FROM customer_metrics m LEFT JOIN brevo_sync_failures f ON f.ext_id = m.customer_id`,
  );
  return new Map(rows.map((r) => [r.customer_id, r.why]));
}

async function brevoContacts(
  pipeline: PipelineInfo,
  ids: string[],
  env: Env,
  why: ReadonlyMap<string, string>,
): Promise<string[]> {
  const apiKey = pipeline.brevo.apiKey ?? env["BREVO_API_KEY"];
  if (!apiKey) return ["(set BREVO_API_KEY to read the contacts back from Brevo)"];
  const out = [`Brevo (${pipeline.brevo.fake ? "fake" : "real"}) contacts of those customers:`];
  for (const id of ids) {
    const res = await fetch(`${pipeline.brevo.url}/contacts/${encodeURIComponent(id)}?identifierType=ext_id`, {
      headers: { "api-key": apiKey, accept: "application/json" },
    });
    if (!res.ok) {
      await res.arrayBuffer();
      out.push(`  ${id}: no contact: ${why.get(id) ?? `HTTP ${res.status}`}`);
      continue;
    }
    const contact = (await res.json()) as { attributes?: Record<string, unknown>; listIds?: number[] };
    out.push(`  ${id}: lists ${JSON.stringify(contact.listIds ?? [])} ${JSON.stringify(contact.attributes ?? {})}`);
  }
  return out;
}

/** Customers and contacts side by side, with the reason for every customer that has none. */
export async function contactSummary(client: Pick<pg.Client, "query">): Promise<string[]> {
  const customers = (
    await client.query<{ total: string; no_email: string; deleted: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE email IS NULL AND NOT deleted) AS no_email,
              count(*) FILTER (WHERE deleted) AS deleted
         FROM customer_metrics`,
    )
  ).rows[0];
  const contacts = (
    await client.query<{ n: string }>("SELECT count(*) AS n FROM brevo_contact_state WHERE NOT deleted")
  ).rows[0];
  const refused = (
    await client.query<{ code: string; n: string }>(
      "SELECT code, count(*) AS n FROM brevo_sync_failures GROUP BY code ORDER BY 2 DESC, 1",
    )
  ).rows;
  const total = Number(customers?.total ?? 0);
  const noEmail = Number(customers?.no_email ?? 0);
  const deleted = Number(customers?.deleted ?? 0);
  const lines = [`${total} customers projected, ${Number(contacts?.n ?? 0)} contacts in Brevo`];
  const plural = (n: number) => (n === 1 ? "customer has" : "customers have");
  if (noEmail > 0) lines.push(`  ${noEmail} ${plural(noEmail)} no email: not pushed (Brevo contacts need one)`);
  if (deleted > 0) lines.push(`  ${deleted} deleted in Stripe: handled as the sink config's deleted_customers says`);
  for (const r of refused)
    lines.push(`  ${r.n} refused by Brevo (${r.code}): retried later, see brevo_sync_failures and pnpm cli status`);
  return lines;
}
