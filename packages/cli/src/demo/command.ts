import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runFold } from "@sbs/projector/fold-cli";
import { readPipelineInfo } from "../command-env.ts";
import { createProgress } from "../progress.ts";
import { deliver } from "./deliver.ts";
import { generateHistory, type StripeEventObject } from "./history.ts";
import { showPipeline } from "./show-pipeline.ts";

export const demoUsage = `usage: pnpm cli demo [--customers N] [--days D] [--seed S] [--out FILE] [--webhook URL [--secret whsec_…]]

Generates a realistic Stripe history (customers in usd/eur/gbp/jpy, subscriptions with trials,
upgrades, downgrades, failed payments, cancellations, one-off charges, refunds, disputes), shows
what the projector computes from it, and with --webhook delivers it to a running ingest the way
Stripe does: signed, out of order, some events twice, failures retried.

  --customers N   customers to generate (default 50)
  --days D        length of the history in days, ending now (default 180)
  --seed S        same seed, same history (default 1)
  --out FILE      also write the events as NDJSON (for pnpm cli fold)
  --webhook URL   deliver to this endpoint, e.g. http://127.0.0.1:8080/webhooks/stripe
  --secret S      signing secret (default: the first of STRIPE_WEBHOOK_SECRETS)
  --pipeline      deliver to the pipeline \`pnpm start\` runs, then show its projections and Brevo contacts`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Whether stderr is a terminal: progress is rewritten in place there, plain lines otherwise. */
  isTTY: boolean;
}

export async function runDemo(argv: string[], io: Io): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${demoUsage}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${demoUsage}\n`);
    return 0;
  }
  const customers = positive(values.customers, "--customers", 50);
  const days = positive(values.days, "--days", 180);
  const seed = positive(values.seed, "--seed", 1);
  if (typeof customers === "string" || typeof days === "string" || typeof seed === "string") {
    io.err(`error: ${[customers, days, seed].find((v) => typeof v === "string")}\n\n${demoUsage}\n`);
    return 2;
  }

  const start = Math.floor(Date.now() / 1000) - days * 86_400;
  const events = generateHistory({ customers, days, seed, start });
  io.err(`generated ${events.length} events for ${customers} customers over ${days} days (seed ${seed})\n`);
  if (values.out) {
    writeFileSync(values.out, `${events.map((e) => JSON.stringify(e)).join("\n")}\n`);
    io.err(`wrote ${values.out} (fold it with: pnpm cli fold ${values.out})\n`);
  }

  const pipeline = values.pipeline ? readPipelineInfo(io.env) : undefined;
  if (values.pipeline && !pipeline) {
    io.err("error: no running pipeline found; start it with `pnpm start` in another terminal\n");
    return 1;
  }
  const webhook = values.webhook ?? pipeline?.webhookUrl;
  if (webhook) {
    const secret = values.secret ?? pipeline?.secret ?? firstSecret(io.env["STRIPE_WEBHOOK_SECRETS"]);
    if (!secret) {
      io.err("error: --webhook needs --secret or STRIPE_WEBHOOK_SECRETS to sign deliveries\n");
      return 2;
    }
    const started = Date.now();
    const progress = createProgress(io.err, io.isTTY);
    const report = await deliver(events, {
      url: webhook,
      secret,
      concurrency: 16,
      duplicateRate: 0.05,
      reorderWindow: 25,
      maxAttempts: 6,
      seed,
      onProgress: (done, total) => {
        if (done % 500 === 0 || done === total) progress.update(`delivered ${done}/${total}`);
      },
    });
    progress.done();
    const seconds = (Date.now() - started) / 1000;
    io.err(
      `delivered ${report.events} events as ${report.deliveries} deliveries (${report.duplicates} duplicates, ` +
        `${report.retries} retries) in ${seconds.toFixed(1)} s; ${report.failed.length} never acknowledged\n`,
    );
    if (report.failed.length > 0) {
      io.err(`not acknowledged: ${report.failed.slice(0, 10).join(", ")}${report.failed.length > 10 ? ", …" : ""}\n`);
      return 1;
    }
  }

  if (pipeline) {
    io.out(await showPipeline(pipeline, customers, io));
    return 0;
  }
  io.out(await preview(events));
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      customers: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      webhook: { type: "string" },
      secret: { type: "string" },
      pipeline: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
}

function positive(raw: string | undefined, flag: string, fallback: number): number | string {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : `${flag} must be a positive whole number, got "${raw}"`;
}

function firstSecret(list: string | undefined): string | undefined {
  const first = list?.split(",")[0]?.trim();
  if (!first) return undefined;
  return first.startsWith("whsec_") ? first : first.slice(first.indexOf("=") + 1);
}

/** What the projector makes of the history (the offline fold: same domain code), top customers first. */
async function preview(events: readonly StripeEventObject[]): Promise<string> {
  const rows: Record<string, unknown>[] = [];
  async function* lines() {
    for (const e of events) yield JSON.stringify(e);
  }
  await runFold(
    lines(),
    (line) => rows.push(JSON.parse(line) as Record<string, unknown>),
    () => {},
  );
  const money = (m: unknown) =>
    Object.entries((m ?? {}) as Record<string, number>)
      .map(([c, v]) => `${c} ${v}`)
      .join(", ") || "-";
  const total = (r: Record<string, unknown>) =>
    Object.values((r["total_spent"] ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
  const top = [...rows].sort((a, b) => total(b) - total(a)).slice(0, 10);
  const header = `${"customer".padEnd(22)} ${"total spent (minor units)".padEnd(26)} ${"MRR".padEnd(14)} ${"status".padEnd(10)} plan`;
  const body = top.map(
    (r) =>
      `${String(r["customer_id"]).padEnd(22)} ${money(r["total_spent"]).padEnd(26)} ${money(r["mrr"]).padEnd(14)} ${String(r["subscription_status"] ?? "-").padEnd(10)} ${r["plan_name"] ?? "-"}`,
  );
  const churned = rows.filter((r) => r["churned"]).length;
  return `\n${rows.length} customers projected (${churned} churned); top 10 by total spent:\n${header}\n${body.join("\n")}\n`;
}
