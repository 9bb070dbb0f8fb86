import type { PlanSummary } from "@sbs/brevo-sink/commands";
import type { HealthPanel, ProblemsPanel, SaasPanel } from "./panels.ts";

/**
 * The dashboard page, rendered on the server: every table is plain HTML (readable without
 * JavaScript, by a screen reader, in a text browser); the script only draws the charts from
 * /api/throughput and keeps them current.
 */

const esc = (value: unknown): string => String(value ?? "—").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const table = (caption: string, head: readonly string[], rows: readonly (readonly unknown[])[], empty: string) =>
  rows.length === 0
    ? `<p class="empty">${esc(empty)}</p>`
    : `<table><caption>${esc(caption)}</caption><thead><tr>${head.map((h) => `<th scope="col">${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
        .join("")}</tbody></table>`;

const money = (minor: number, currency: string) => {
  const zeroDecimal = ["jpy", "krw", "vnd", "clp", "isk", "huf"].includes(currency.toLowerCase());
  return `${(zeroDecimal ? minor : minor / 100).toLocaleString("en-US")} ${currency.toUpperCase()}`;
};

export interface PageData {
  readonly health: HealthPanel;
  readonly problems: ProblemsPanel;
  readonly saas: SaasPanel;
  readonly plan: PlanSummary | { readonly error: string };
  readonly sampledAt: string | null;
}

export function renderPage(d: PageData): string {
  const h = d.health;
  const plan =
    "error" in d.plan
      ? `<p class="bad">${esc(d.plan.error)}</p>`
      : `${table(
          "Counts for the next pass",
          ["customers", "create", "update", "delete", "unchanged", "no email", "list adds", "list removes"],
          [
            [
              d.plan.customers,
              d.plan.create,
              d.plan.update,
              d.plan.delete,
              d.plan.unchanged,
              d.plan.skippedNoEmail,
              d.plan.listAdds,
              d.plan.listRemoves,
            ],
          ],
          "",
        )}${d.plan.sample.length ? `<ul class="sample">${d.plan.sample.map((s) => `<li><code>${esc(s)}</code></li>`).join("")}</ul>` : `<p class="empty">Nothing to send.</p>`}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stripe-brevo-stream — dashboard</title>
<link rel="stylesheet" href="/static/uPlot.min.css">
<link rel="stylesheet" href="/static/dashboard.css">
</head>
<body>
<header>
  <h1>stripe-brevo-stream</h1>
  <p id="overall" class="${h.healthy ? "good" : "bad"}">${h.healthy ? "healthy" : "NOT healthy"}</p>
  <p>sampled ${esc(d.sampledAt ?? "not yet")} · <a href="/">refresh</a> · JSON: <a href="/api/health">health</a>, <a href="/api/throughput">throughput</a>, <a href="/api/problems">problems</a>, <a href="/api/plan">plan</a>, <a href="/api/saas">saas</a></p>
</header>
<main>
<section id="health" aria-labelledby="health-h">
  <h2 id="health-h">Health</h2>
  ${table(
    "Components",
    ["component", "state", "detail", "since"],
    h.components.map((c) => [c.name, c.up ? "up" : "DOWN", c.detail, c.since]),
    "No component sampled yet.",
  )}
  ${
    h.halted.length
      ? `<div class="bad" id="halted">${table(
          "Halted partitions",
          ["partition", "reason", "since", "what to do"],
          h.halted.map((x) => [x.partition, x.reason, x.since, x.detail]),
          "",
        )}</div>`
      : `<p class="good">No partition halted.</p>`
  }
</section>
<section id="throughput" aria-labelledby="throughput-h">
  <h2 id="throughput-h">Throughput and lag (last hour)</h2>
  <div class="chart" id="chart-rates" role="img" aria-label="webhooks and projector events per second"></div>
  <div class="chart" id="chart-lag" role="img" aria-label="projector lag and sink backlog"></div>
  <noscript><p>The charts need JavaScript; the same series are at <a href="/api/throughput">/api/throughput</a>.</p></noscript>
</section>
<section id="problems" aria-labelledby="problems-h">
  <h2 id="problems-h">Problems</h2>
  <h3>Dead letters</h3>
  ${table(
    "Dead letters (newest first)",
    ["origin", "class", "reason", "state", "when", "redrive (after fixing the cause)"],
    d.problems.deadLetters.map((x) => [
      `${x.topic}[${x.partition}]@${x.offset}`,
      x.error_class,
      x.reason,
      x.state,
      x.created_at,
      x.redrive,
    ]),
    "No dead letters.",
  )}
  <h3>Brevo failures</h3>
  ${table(
    "Contacts Brevo refused, by code",
    ["code", "contacts", "some customers", "last"],
    d.problems.brevoFailures.map((f) => [f.code, f.n, f.customers.join(", "), f.last_failed_at]),
    "Brevo refused no contact.",
  )}
  <h3>Sink passes</h3>
  <p>passes ${esc(d.problems.sink.passes)} · last ${esc(d.problems.sink.lastPassAt)} · 429s ${esc(d.problems.sink.rateLimited)}</p>
  ${table(
    "Brevo responses since the sink started",
    ["endpoint", "status", "count"],
    d.problems.sink.responses.map((r) => [r.endpoint, r.status, r.count]),
    "No Brevo request yet.",
  )}
</section>
<section id="plan" aria-labelledby="plan-h">
  <h2 id="plan-h">What the sink will send</h2>
  ${plan}
</section>
<section id="saas" aria-labelledby="saas-h">
  <h2 id="saas-h">SaaS metrics</h2>
  <p><span id="customers">${esc(d.saas.customers)}</span> customers · <span id="subscribers">${esc(d.saas.subscribers)}</span> subscribers · ${esc(d.saas.payments)} payments</p>
  ${table(
    "MRR now, per currency",
    ["currency", "MRR", "subscribers"],
    d.saas.mrr.map((m) => [m.currency.toUpperCase(), money(m.mrr, m.currency), m.subscribers]),
    "No MRR yet.",
  )}
  <div class="chart" id="chart-mrr" role="img" aria-label="MRR per currency"></div>
  <p class="note">MRR over time and monthly movements appear once the MRR-history views exist; until then, the current figures.</p>
</section>
</main>
<script src="/static/uPlot.iife.min.js"></script>
<script src="/static/dashboard.js"></script>
</body>
</html>`;
}
