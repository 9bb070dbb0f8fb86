import { countBacklog } from "@sbs/brevo-sink/change-feed";
import { endpointsFromEnv, stackStatus } from "@sbs/infra";
import { type PriceFact, STRIPE_MRR_RULES, type SubscriptionFact, unpricedSubscriptions } from "@sbs/projector/domain";
import { mailboxBacklog } from "@sbs/projector/slots";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";

/**
 * `pnpm cli status`: what the connector guides show (connected, last sync, customers,
 * subscriptions and payments synced) plus what an operator needs: lag per partition, dead
 * letters, the sink's backlog and failures. Read-only; every section says when its tables do not
 * exist yet instead of failing the whole report.
 */

export interface StatusReport {
  stack: { healthy: boolean; detail: string };
  projector?: {
    generation: number;
    customers: number;
    subscribers: number;
    payments: number;
    lastEventAt: string | null;
    partitions: {
      topic: string;
      partition: number;
      nextOffset: number;
      highWatermark: number;
      lag: number;
      applied: number;
      deadLettered: number;
      updatedAt: string;
      /** The projector refuses to advance this partition (reason, and the fix in `detail`). */
      halted?: { reason: string; detail: string; since: string };
    }[];
    deadLetters: { sent: number; pending: number };
    /**
     * Cross-partition work waiting in the slots' mailboxes (refunds and disputes keyed apart from
     * their charge, catalog changes): customers not yet derived again; absent if unknown.
     */
    mailbox?: number;
    /** Subscriptions counted in MRR with an item it leaves out (Stripe's statuses); absent if unknown. */
    mrrUnpriced?: { total: number; metered: number; tiersUnknown: number };
  };
  sink?: {
    contacts: number;
    lastPushAt: string | null;
    backlog: number | null;
    failures: { total: number; byCode: Record<string, number> };
    events: Record<string, number>;
    /** Custom events recorded as failed, by reason (`no_contact`, `HTTP 400 <code>`, …). */
    eventFailures: Record<string, number>;
  };
  problems: string[];
}

type Env = Record<string, string | undefined>;

export async function collectStatus(env: Env): Promise<StatusReport> {
  const problems: string[] = [];
  const status = await stackStatus(env);
  const report: StatusReport = { stack: { healthy: status.healthy, detail: status.detail }, problems };
  const endpoints = status.endpoints ?? (endpointsFromEnv(env) as typeof status.endpoints);
  if (!endpoints) {
    problems.push("no stack: run `pnpm stack:up` or `pnpm start`");
    return report;
  }
  const db = new pg.Client({ connectionString: endpoints.databaseUrl, connectionTimeoutMillis: 3000 });
  try {
    await db.connect();
  } catch (error) {
    problems.push(`PostgreSQL not reachable: ${(error as Error).message}`);
    return report;
  }
  try {
    const projector = await projectorStatus(db, endpoints.kafkaBrokers, problems);
    if (projector) report.projector = projector;
    const sink = await sinkStatus(db, problems);
    if (sink) report.sink = sink;
  } finally {
    await db.end();
  }
  return report;
}

/** Runs a query; a missing relation means that service has not run its migrations yet. */
async function optional<T>(problems: string[], what: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    const code = (error as { code?: string }).code;
    problems.push(
      code === "42P01"
        ? `${what}: not set up yet (its service has not started)`
        : `${what}: ${(error as Error).message}`,
    );
    return undefined;
  }
}

async function projectorStatus(db: pg.Client, brokers: string[], problems: string[]) {
  return optional(problems, "projector", async () => {
    const generation = Number((await db.query("SELECT generation FROM projection_pointer")).rows[0]?.generation ?? 1);
    const totals = (
      await db.query(`SELECT count(*) AS customers,
          count(*) FILTER (WHERE subscription_status IN ('active', 'past_due', 'trialing')) AS subscribers,
          coalesce(sum(payment_count), 0) AS payments, max(last_event_at) AS last_event_at
        FROM customer_metrics`)
    ).rows[0];
    const offsets = (
      await db.query(
        `SELECT topic, partition, next_offset, applied_count, dead_lettered_count, updated_at
           FROM processed_offset WHERE generation = $1 ORDER BY topic, partition`,
        [generation],
      )
    ).rows;
    const dead = (
      await db.query(
        "SELECT count(*) FILTER (WHERE state = 'sent') AS sent, count(*) FILTER (WHERE state = 'pending') AS pending FROM dead_letter",
      )
    ).rows[0];
    const halts = new Map(
      (
        await db
          .query("SELECT topic, partition, reason, detail, since FROM partition_halt WHERE generation = $1", [
            generation,
          ])
          .catch(() => ({ rows: [] as Record<string, unknown>[] }))
      ).rows // before the projector's migration 0002
        .map((h) => [`${h["topic"]}:${h["partition"]}`, h]),
    );
    for (const h of halts.values())
      problems.push(`projector: ${String(h["topic"])}[${String(h["partition"])}] HALTED: ${String(h["detail"])}`);
    const highs = await highWatermarks(brokers, [...new Set(offsets.map((o) => String(o.topic)))], problems);
    const mrrUnpriced = await optional(problems, "projector MRR coverage", () => mrrCoverage(db, generation));
    const mailbox = await optional(problems, "projector mailbox", () => mailboxBacklog(db, generation));
    return {
      generation,
      customers: Number(totals?.customers ?? 0),
      subscribers: Number(totals?.subscribers ?? 0),
      payments: Number(totals?.payments ?? 0),
      lastEventAt: totals?.last_event_at ? new Date(totals.last_event_at).toISOString() : null,
      partitions: offsets.map((o) => {
        const high = highs.get(`${o.topic}:${o.partition}`) ?? Number(o.next_offset);
        const halt = halts.get(`${o.topic}:${o.partition}`);
        return {
          ...(halt
            ? {
                halted: {
                  reason: String(halt["reason"]),
                  detail: String(halt["detail"]),
                  since: new Date(halt["since"] as string).toISOString(),
                },
              }
            : {}),
          topic: String(o.topic),
          partition: Number(o.partition),
          nextOffset: Number(o.next_offset),
          highWatermark: high,
          lag: Math.max(0, high - Number(o.next_offset)),
          applied: Number(o.applied_count),
          deadLettered: Number(o.dead_lettered_count),
          updatedAt: new Date(o.updated_at).toISOString(),
        };
      }),
      deadLetters: { sent: Number(dead?.sent ?? 0), pending: Number(dead?.pending ?? 0) },
      ...(mrrUnpriced === undefined ? {} : { mrrUnpriced }),
      ...(mailbox === undefined ? {} : { mailbox }),
    };
  });
}

/**
 * Subscriptions whose MRR leaves an item out (metered usage, or a tiered price whose tiers no
 * payload carried), decided by the projector's own domain code over the live generation's facts.
 * Only subscriptions with such an item are read: the jsonpath filter runs in Postgres.
 */
async function mrrCoverage(db: pg.Client, generation: number) {
  const subscriptions = (
    await db.query<{ fact: SubscriptionFact }>(
      `SELECT fact FROM fact_subscription
        WHERE generation = $1 AND NOT deleted
          AND fact #>> '{winner,data,status}' = ANY($2::text[])
          AND fact @? '$.winner.data.items[*].price ? (@.billingScheme == "tiered" || @.recurring.usageType == "metered")'`,
      [generation, STRIPE_MRR_RULES.statuses],
    )
  ).rows.map((r) => r.fact);
  const priceIds = [
    ...new Set(subscriptions.flatMap((f) => f.winner.data.items.flatMap((i) => (i.price ? [i.price.id] : [])))),
  ];
  const prices = new Map<string, PriceFact>();
  if (priceIds.length > 0) {
    const rows = await db.query<{ id: string; fact: PriceFact }>(
      "SELECT id, fact FROM fact_price WHERE generation = $1 AND id = ANY($2::text[])",
      [generation, priceIds],
    );
    for (const row of rows.rows) prices.set(row.id, row.fact);
  }
  return unpricedSubscriptions(subscriptions, STRIPE_MRR_RULES, {
    price: (id) => prices.get(id),
    // Discounts do not decide whether an item can be priced.
    discount: () => undefined,
    coupon: () => undefined,
  });
}

async function highWatermarks(brokers: string[], topics: string[], problems: string[]): Promise<Map<string, number>> {
  const highs = new Map<string, number>();
  if (topics.length === 0) return highs;
  const admin = new Kafka({ brokers, clientId: "status", logLevel: logLevel.NOTHING, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) highs.set(`${topic}:${p.partition}`, Number(p.high));
    }
  } catch (error) {
    problems.push(`Kafka: could not read high-water marks (${(error as Error).message}); lag unknown`);
  } finally {
    await admin.disconnect().catch(() => {});
  }
  return highs;
}

async function sinkStatus(db: pg.Client, problems: string[]) {
  return optional(problems, "brevo-sink", async () => {
    const contacts = (await db.query("SELECT count(*) AS n, max(pushed_at) AS last FROM brevo_contact_state")).rows[0];
    const failures = (await db.query("SELECT code, count(*) AS n FROM brevo_sync_failures GROUP BY code")).rows;
    const events = (
      await db.query("SELECT status, count(*) AS n FROM brevo_event_ledger GROUP BY status ORDER BY status")
    ).rows;
    // The ledger's detail is `no_contact` or `HTTP <status> <code>: <Brevo's message>`: the part
    // before the colon is the reason; the message (which may quote data) stays in the table.
    const eventFailures = (
      await db.query(
        `SELECT split_part(coalesce(detail, 'unknown'), ':', 1) AS reason, count(*) AS n
           FROM brevo_event_ledger WHERE status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1`,
      )
    ).rows;
    const backlog = await countBacklog(db);
    return {
      contacts: Number(contacts?.n ?? 0),
      lastPushAt: contacts?.last ? new Date(contacts.last).toISOString() : null,
      backlog,
      failures: {
        total: failures.reduce((sum: number, f) => sum + Number(f.n), 0),
        byCode: Object.fromEntries(failures.map((f) => [String(f.code), Number(f.n)])),
      },
      events: Object.fromEntries(events.map((e) => [String(e.status), Number(e.n)])),
      eventFailures: Object.fromEntries(eventFailures.map((e) => [String(e.reason), Number(e.n)])),
    };
  });
}

export function formatStatus(r: StatusReport): string {
  const lines: string[] = [];
  lines.push(`stack        ${r.stack.healthy ? "healthy" : "NOT healthy"} — ${r.stack.detail}`);
  if (r.projector) {
    const p = r.projector;
    const lag = p.partitions.reduce((sum, x) => sum + (x.halted ? 0 : x.lag), 0);
    const halted = p.partitions.filter((x) => x.halted).length;
    lines.push(
      `projector    generation ${p.generation}: ${p.customers} customers, ${p.subscribers} subscribed, ${p.payments} payments; last event ${p.lastEventAt ?? "never"}`,
    );
    lines.push(
      `             ${halted > 0 ? `${halted} partition(s) HALTED; ` : ""}lag ${lag} records${p.mailbox === undefined ? "" : `, mailbox ${p.mailbox} requests`}; dead letters ${p.deadLetters.sent} sent, ${p.deadLetters.pending} pending`,
    );
    if (p.mrrUnpriced !== undefined) {
      const u = p.mrrUnpriced;
      lines.push(
        `             MRR leaves out items of ${u.total} subscriptions (${u.metered} metered usage, ${u.tiersUnknown} tiered prices without known tiers: run backfill --resources prices)`,
      );
    }
    for (const x of p.partitions) {
      if (x.halted) {
        lines.push(
          `             ${x.topic}[${x.partition}] HALTED (${x.halted.reason}) since ${x.halted.since}, next ${x.nextOffset} / end ${x.highWatermark}: ${x.halted.detail}`,
        );
        continue;
      }
      lines.push(
        `             ${x.topic}[${x.partition}] next ${x.nextOffset} / end ${x.highWatermark} (lag ${x.lag}), applied ${x.applied}, dead-lettered ${x.deadLettered}, updated ${x.updatedAt}`,
      );
    }
  }
  if (r.sink) {
    const s = r.sink;
    lines.push(
      `brevo-sink   ${s.contacts} contacts synced, last push ${s.lastPushAt ?? "never"}; backlog ${s.backlog ?? "unknown"} customers`,
    );
    const codes = Object.entries(s.failures.byCode).map(([c, n]) => `${c} ${n}`);
    lines.push(`             failures ${s.failures.total}${codes.length ? ` (${codes.join(", ")})` : ""}`);
    const reasons = Object.entries(s.eventFailures).map(([k, n]) => `${k} ${n}`);
    const events = Object.entries(s.events).map(
      ([k, n]) => `${k} ${n}${k === "failed" && reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}`,
    );
    lines.push(`             custom events: ${events.length ? events.join(", ") : "none yet"}`);
  }
  for (const problem of r.problems) lines.push(`!            ${problem}`);
  return `${lines.join("\n")}\n`;
}
