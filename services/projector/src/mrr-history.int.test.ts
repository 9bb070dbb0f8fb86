import { migrate } from "@sbs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProjector, type Projector } from "./app.ts";
import { catalogOf, foldAll } from "./domain/fold.ts";
import { collectHistory, deriveCustomerHistory, historyFactsOf } from "./domain/history-of.ts";
import type { MonthlyMrrRow } from "./domain/movements.ts";
import { decodeAll, event, type RawEvent, subscription } from "./domain/stripe-test-events.ts";
import { runRebuild } from "./rebuild.ts";
import { MIGRATIONS_DIR } from "./runtime.ts";
import { openTestEventLog, type TestEventLog } from "./testing/event-log.ts";
import { generateHistory } from "./testing/history.ts";
import { isolatedProjectorEnv, silent, waitForProcessed } from "./testing/int-setup.ts";
import { offlineMonthlyRows, viewMonthlyRows } from "./testing/projection-rows.ts";

/**
 * Issue #17 on the real stack: the analytics views answer, for the analytics role only, and equal
 * the offline fold (`pnpm cli fold --history`), after the live path (batch by batch, late and
 * duplicate events included) and after an in-memory rebuild.
 */

let world: Awaited<ReturnType<typeof isolatedProjectorEnv>>;
let log: TestEventLog;
const running: Projector[] = [];

beforeAll(async () => {
  world = await isolatedProjectorEnv("mrr-history");
  log = await openTestEventLog({
    brokers: world.stack.kafkaBrokers,
    registryUrl: world.stack.schemaRegistryUrl,
    topic: world.topic,
    partitions: 3,
    logger: silent,
  });
});
afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await log?.close();
  await world?.dispose();
});

const DAY = 86_400;
const NOW = Math.floor(Date.now() / 1000);

const viewMonths = () => viewMonthlyRows(world.pool);
const offline = (events: readonly RawEvent[]) => offlineMonthlyRows(events, NOW);

/** mrr_movements computed from the offline rows. */
const movementsOf = (rows: readonly MonthlyMrrRow[]) => {
  const out = new Map<
    string,
    { month: string; currency: string; movement: string; customers: number; amount: number }
  >();
  for (const r of rows) {
    if (r.movement === null) continue;
    const key = `${r.month}|${r.currency}|${r.movement}`;
    const m = out.get(key) ?? { month: r.month, currency: r.currency, movement: r.movement, customers: 0, amount: 0 };
    m.customers++;
    m.amount += r.change;
    out.set(key, m);
  }
  return [...out.values()].sort((a, b) =>
    `${a.month}|${a.currency}|${a.movement}` < `${b.month}|${b.currency}|${b.movement}` ? -1 : 1,
  );
};

async function viewMovements() {
  const { rows } = await world.pool.query(
    `SELECT to_char(month, 'YYYY-MM-DD') AS month, currency, movement, customers::int AS customers, amount::float8 AS amount
     FROM mrr_movements ORDER BY month, currency, movement`,
  );
  return rows;
}

describe("MRR history views", () => {
  it("equal the offline fold, live and after a rebuild, and only the analytics views are granted", async () => {
    const schema = world.config.database.schema;
    await migrate({ url: world.stack.databaseUrl, dir: MIGRATIONS_DIR, logger: silent, ...(schema ? { schema } : {}) });
    // Ten months of history ending well before today, so carried-forward months show too.
    const history = generateHistory({
      seed: 17,
      events: 2500,
      customers: 50,
      prefix: "mrrh",
      start: NOW - 330 * DAY,
      spanSeconds: 300 * DAY,
    });
    // Late events: the second half first, then the first half, then duplicates.
    await log.append(history.slice(1250));
    const projector = createProjector(world.config, { logger: silent });
    running.push(projector);
    await projector.start();
    await log.append(history.slice(0, 1250));
    await log.append(history.slice(0, 300));
    await waitForProcessed(world.pool, 1, world.topic, history.length + 300);
    await projector.stop();

    const expected = offline(history);
    // The generated history must exercise the classes, or the equality proves little.
    const classes = new Set(expected.map((r) => r.movement));
    for (const c of ["new", "expansion", "contraction", "churn", "reactivation", null]) expect(classes).toContain(c);
    expect(expected.some((r) => r.month === `${new Date(NOW * 1000).toISOString().slice(0, 7)}-01`)).toBe(true);

    expect(await viewMonths()).toEqual(expected);
    expect(await viewMovements()).toEqual(movementsOf(expected));

    // The summary's MRR, customers and churned MRR agree with the rows.
    const { rows: summary } = await world.pool.query(
      `SELECT to_char(month, 'YYYY-MM-DD') AS month, currency, mrr::float8 AS mrr, arr::float8 AS arr,
         customers::int AS customers, churned_mrr::float8 AS churned_mrr, gross_mrr_churn_rate::float8 AS gross
       FROM saas_metrics_monthly ORDER BY month, currency`,
    );
    const months = new Map<
      string,
      { mrr: number; customers: number; churned: number; starting: number; contraction: number }
    >();
    for (const r of expected) {
      const key = `${r.month}|${r.currency}`;
      const m = months.get(key) ?? { mrr: 0, customers: 0, churned: 0, starting: 0, contraction: 0 };
      m.mrr += r.mrr;
      m.customers += r.mrr > 0 ? 1 : 0;
      m.starting += r.previous_mrr;
      if (r.movement === "churn") m.churned -= r.change;
      if (r.movement === "contraction") m.contraction -= r.change;
      months.set(key, m);
    }
    expect(summary.map((s) => `${s.month}|${s.currency}`)).toEqual([...months.keys()].sort());
    for (const s of summary) {
      const m = months.get(`${s.month}|${s.currency}`);
      expect(s).toMatchObject({
        mrr: m?.mrr,
        arr: (m?.mrr ?? 0) * 12,
        customers: m?.customers,
        churned_mrr: m?.churned,
      });
      if (m && m.starting > 0) expect(s.gross).toBeCloseTo((m.churned + m.contraction) / m.starting, 6);
      else expect(s.gross).toBeNull();
    }

    // The sink's summary: first paid time and the latest movement per currency, as the fold has them.
    const decoded = decodeAll(history);
    const state = foldAll(decoded);
    const catalog = catalogOf(state);
    const summaries = historyFactsOf(state, collectHistory(decoded)).map((facts) => {
      const d = deriveCustomerHistory(facts, catalog);
      return {
        customer_id: facts.customerId,
        first_paid_at: d.firstPaidAt,
        last_movement: d.last.movement,
        last_change: d.last.change,
      };
    });
    const { rows: stored } = await world.pool.query(
      `SELECT customer_id, extract(epoch FROM first_paid_at)::float8 AS first_paid_at, last_movement, last_change
       FROM customer_mrr_summary ORDER BY customer_id`,
    );
    expect(stored).toEqual(summaries);

    // A rebuild (in memory, bulk-loaded) gives the same rows.
    const rebuilt = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 0 },
      { config: world.config, logger: silent, err: { write: () => true } },
    );
    expect(rebuilt).toMatchObject({ generation: 2, switched: true });
    expect(await viewMonths()).toEqual(expected);

    const { rows: grants } = await world.pool.query(
      `SELECT has_table_privilege('sbs_analytics', 'mrr_monthly', 'SELECT') AS monthly,
              has_table_privilege('sbs_analytics', 'mrr_movements', 'SELECT') AS movements,
              has_table_privilege('sbs_analytics', 'saas_metrics_monthly', 'SELECT') AS summary,
              has_table_privilege('sbs_analytics', 'mrr_month', 'SELECT') AS months_table,
              has_table_privilege('sbs_analytics', 'subscription_history', 'SELECT') AS history_table`,
    );
    expect(grants[0]).toEqual({
      monthly: true,
      movements: true,
      summary: true,
      months_table: false,
      history_table: false,
    });
  });
});

describe("the sink's change feed", () => {
  it("sees a customer whose history changed while its row did not (a late, older snapshot)", async () => {
    const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d, 12) / 1000;
    const sub = (type: string, at: number, quantity: number) =>
      event(
        type,
        at,
        subscription({
          id: "sub_late",
          customer: "cus_late",
          items: [{ id: "price_late", unit_amount: 1000, quantity }],
        }),
      );
    await log.append([
      sub("customer.subscription.created", day(2025, 1, 10), 1),
      sub("customer.subscription.updated", day(2025, 3, 10), 3),
    ]);
    const generation = 2; // the rebuild above switched to it
    const projector = createProjector(world.config, { logger: silent });
    running.push(projector);
    await projector.start();
    const before = async () =>
      (
        await world.pool.query(
          `SELECT c.change_xid::text AS xid, c.updated_at, s.last_change
           FROM customer_changes c JOIN customer_mrr_summary s USING (customer_id) WHERE customer_id = 'cus_late'`,
        )
      ).rows[0];
    await waitForProcessed(world.pool, generation, world.topic, 2500 + 300 + 2);
    const first = await before();
    expect(first?.last_change).toEqual({ usd: 2000 });

    // February's snapshot arrives last: the fact's winner (March) and the row stay, the history moves.
    await log.append([sub("customer.subscription.updated", day(2025, 2, 10), 2)]);
    await waitForProcessed(world.pool, generation, world.topic, 2500 + 300 + 3);
    const second = await before();
    expect(second?.last_change).toEqual({ usd: 1000 });
    expect(second?.updated_at).toEqual(first?.updated_at);
    expect(BigInt(second?.xid)).toBeGreaterThan(BigInt(first?.xid));
    await projector.stop();
  });
});
