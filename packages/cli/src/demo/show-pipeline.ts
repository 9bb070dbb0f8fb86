import pg from "pg";
import type { PipelineInfo } from "../start/pipeline-files.ts";
import { sinkBacklog } from "../status/status.ts";

/**
 * After a demo delivery: waits for the projector to settle, prints the top customers from the
 * `customer_metrics` view, then what Brevo holds for a few of them once the sink has pushed.
 */
export async function showPipeline(
  pipeline: PipelineInfo,
  customers: number,
  io: { err: (text: string) => void },
): Promise<string> {
  const client = new pg.Client({ connectionString: pipeline.databaseUrl });
  await client.connect();
  try {
    let last = -1;
    let stableSince = Date.now();
    const deadline = Date.now() + 180_000;
    for (;;) {
      const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM customer_metrics");
      const n = Number(rows[0]?.n ?? 0);
      if (n !== last) {
        io.err(`\rprojected customers: ${n}`);
        last = n;
        stableSince = Date.now();
      }
      // Settled: every generated customer is there and nothing moved for 3 s.
      if ((n >= customers && Date.now() - stableSince > 3000) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    io.err("\n");
    await waitForSink(client, io);
    const top = await client.query<Record<string, unknown>>(
      `SELECT customer_id, total_spent, mrr, subscription_status, plan_name
         FROM customer_metrics ORDER BY payment_count DESC, customer_id LIMIT 10`,
    );
    const lines = top.rows.map(
      (r) =>
        `${String(r["customer_id"]).padEnd(22)} ${JSON.stringify(r["total_spent"]).padEnd(22)} ${JSON.stringify(r["mrr"]).padEnd(18)} ${String(r["subscription_status"] ?? "-").padEnd(10)} ${r["plan_name"] ?? "-"}`,
    );
    const brevo = await brevoSample(
      pipeline,
      top.rows.slice(0, 3).map((r) => String(r["customer_id"])),
      io,
    );
    return [
      `\nprojections (customer_metrics, ${last} customers), top 10 by payments:`,
      `${"customer".padEnd(22)} ${"total_spent".padEnd(22)} ${"mrr".padEnd(18)} ${"status".padEnd(10)} plan`,
      ...lines,
      "",
      ...brevo,
      "",
    ].join("\n");
  } finally {
    await client.end();
  }
}

/**
 * The sink pushes on its own schedule: wait until its change cursor has passed every projected
 * change (backlog 0), so what we read back from Brevo is the settled state, not a first push.
 */
async function waitForSink(client: pg.Client, io: { err: (text: string) => void }): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const backlog = await sinkBacklog(client).catch(() => -1);
    if (backlog === 0) return;
    io.err(`\rsink backlog: ${backlog < 0 ? "not started yet" : `${backlog} customers`}   `);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function brevoSample(pipeline: PipelineInfo, ids: string[], io: { err: (t: string) => void }): Promise<string[]> {
  const apiKey = pipeline.brevo.apiKey ?? process.env["BREVO_API_KEY"];
  if (!apiKey) return ["(set BREVO_API_KEY to read the contacts back from Brevo)"];
  const out = [`Brevo (${pipeline.brevo.fake ? "fake" : "real"}) contacts for the top customers:`];
  for (const id of ids) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await fetch(`${pipeline.brevo.url}/contacts/${encodeURIComponent(id)}?identifierType=ext_id`, {
        headers: { "api-key": apiKey, accept: "application/json" },
      });
      if (res.ok) {
        const contact = (await res.json()) as {
          email?: string;
          attributes?: Record<string, unknown>;
          listIds?: number[];
        };
        out.push(`  ${id}: lists ${JSON.stringify(contact.listIds ?? [])} ${JSON.stringify(contact.attributes ?? {})}`);
        break;
      }
      await res.arrayBuffer();
      if (Date.now() > deadline) {
        out.push(`  ${id}: not in Brevo yet (the sink pushes every few seconds; see .stack/logs/brevo-sink.log)`);
        break;
      }
      io.err(".");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return out;
}
