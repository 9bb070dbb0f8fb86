import { commands } from "@sbs/projector/commands";
import {
  type CustomerReadModel,
  type DecodedEvent,
  decodeEvent,
  foldAll,
  PROFITWELL_MRR_RULES,
  type ReadModelOptions,
  readModels,
} from "@sbs/projector/domain";
import { createLogger, createPool, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "./adapters/clock.ts";
import { noEvents } from "./adapters/event-source.ts";
import { createPgProjectionSource } from "./adapters/pg-projection-source.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import { MIGRATIONS_DIR } from "./app.ts";
import { parseSinkConfigText } from "./config-file.ts";
import { syncOnce } from "./sync.ts";
import { openTestEventLog, type RawStripeEvent, stripeEvent, type TestEventLog } from "./testing/event-log.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { untilVisibleToFeed } from "./testing/feed-visibility.ts";
import { testSyncOptions, testTransport } from "./testing/harness.ts";
import { brevoDiffersFromDesired } from "./testing/oracle.ts";
import { stripeHistory } from "./testing/stripe-history.ts";

/**
 * The sink's incremental reader on the real projector's change feed (`customer_changes`, the
 * projector's migration 0002): no change can slip behind its cursor, neither one whose transaction
 * took long to commit nor a rebuild's rows, stamped when they were loaded.
 */
const config = parseSinkConfigText(`
version: 1
lists:
  all_customers: 2
  subscribers: 3
deleted_customers: unlink_lists
events: { enabled: false }
`);
const logger = createLogger({ service: "brevo-sink-change-feed-int", level: "silent" });

let projection: { schema: string; drop: () => Promise<void> };
let sink: { schema: string; drop: () => Promise<void> };
let pool: Pool;
let log: TestEventLog;
let fake: FakeBrevo;
let env: Record<string, string>;

/** Some active subscriptions marked to cancel at the period's end: Stripe's MRR rules leave them out, ProfitWell's keep them. */
function historyWithPendingCancellations(): RawStripeEvent[] {
  const base = stripeHistory(40, "cf");
  const cancelling = base
    .filter((e) => e.type === "customer.subscription.created" && e.data.object["status"] === "active")
    .slice(0, 4)
    .map((e) =>
      stripeEvent("customer.subscription.updated", e.created + 5, { ...e.data.object, cancel_at_period_end: true }),
    );
  return [...base, ...cancelling];
}
const history = historyWithPendingCancellations();

function expectedModels(events: readonly RawStripeEvent[], options?: ReadModelOptions): CustomerReadModel[] {
  const decoded: DecodedEvent[] = events.map((raw) => {
    const r = decodeEvent(raw);
    if (!r.ok) throw new Error(`test event ${raw.id} does not decode: ${r.reason}`);
    return r.event;
  });
  return readModels(foldAll(decoded), options);
}

async function rebuild(args: string[], extraEnv: Record<string, string> = {}) {
  const err: string[] = [];
  const code = await commands.rebuild.run(args, {
    env: { ...env, ...extraEnv },
    out: { write: () => {} },
    err: { write: (t: string) => err.push(t) },
  });
  if (code !== 0) throw new Error(`projector rebuild failed (${code}): ${err.join("")}`);
}

const source = () => createPgProjectionSource(pool, { schema: projection.schema });
/** One pass, once the feed can see every row committed so far (another test's transaction may hold it back). */
const run = async () => {
  await untilVisibleToFeed(pool);
  return syncOnce(
    {
      config,
      source: source(),
      events: noEvents,
      state: createPgSinkState(pool),
      transport: testTransport(fake),
      logger,
      clock: systemClock,
    },
    testSyncOptions,
  );
};

beforeAll(async () => {
  const stack = testStack();
  projection = await isolatedSchema(stack.databaseUrl);
  sink = await isolatedSchema(stack.databaseUrl);
  const topic = uniqueName("brevo-sink-feed");
  env = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_SCHEMA: projection.schema,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName("brevo-sink-feed-group"),
    LOG_LEVEL: "silent",
    KAFKA_SESSION_TIMEOUT_MS: "10000",
  };
  log = await openTestEventLog({
    brokers: stack.kafkaBrokers,
    registryUrl: stack.schemaRegistryUrl,
    topic,
    partitions: 2,
    logger,
  });
  await log.append(history);
  await migrate({ url: stack.databaseUrl, dir: MIGRATIONS_DIR, schema: sink.schema, logger });
  pool = createPool({ url: stack.databaseUrl, schema: sink.schema, applicationName: "brevo-sink-change-feed-int" });
  fake = await startFakeBrevo({ importDelayMs: 5, rateLimits: { contacts: { perSecond: 1000, perHour: 1e6 } } });
  const transport = testTransport(fake);
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await transport.createAttribute(a.attribute, a.type);
  await rebuild(["--fresh"]);
  await run();
  expect(brevoDiffersFromDesired(fake, config, expectedModels(history))).toEqual([]);
}, 120_000);

afterAll(async () => {
  await log?.close();
  await fake?.close();
  await pool?.end();
  await sink?.drop();
  await projection?.drop();
});

const projectionTable = () => `"${projection.schema}".customer_projection`;

describe("the sink's change feed on the real projector", () => {
  it("a rebuild with other MRR rules, built while the live generation kept changing, is pushed by the next incremental pass", async () => {
    const stripe = expectedModels(history);
    const profitwell = expectedModels(history, { mrr: PROFITWELL_MRR_RULES });
    const mrrDiffers = profitwell.filter(
      (m, i) => JSON.stringify(m.mrr) !== JSON.stringify(stripe[i]?.mrr) && m.email !== null,
    );
    expect(mrrDiffers.length).toBeGreaterThan(0);

    // A new generation is built but not switched yet. A large one is loaded long before its
    // switch (it catches up first): its rows carry the load time; here, as if an hour ago. (Only
    // `updated_at` is moved: the time a timestamp cursor would compare, not the change feed's key.)
    await rebuild(["--fresh", "--no-switch"], { MRR_RULES: "profitwell" });
    await pool.query(
      `UPDATE ${projectionTable()} SET updated_at = updated_at - interval '1 hour'
       WHERE generation = (SELECT max(generation) FROM "${projection.schema}".projection_generation)`,
    );
    // ...while the live projector goes on changing the live generation, and the sink reads it:
    // on a timestamp cursor, the sink is now past every row of the new generation.
    await new Promise((r) => setTimeout(r, 50));
    await pool.query(
      `UPDATE ${projectionTable()} SET updated_at = now(), change_xid = pg_current_xact_id()
       WHERE generation = (SELECT generation FROM "${projection.schema}".projection_pointer) AND customer_id = $1`,
      [stripe[0]?.customerId],
    );
    await run();
    // The rebuild resumes its generation and switches.
    await rebuild([], { MRR_RULES: "profitwell" });

    fake.resetLog();
    const report = await run();
    expect(report.pushed).toBe(mrrDiffers.length);
    expect(brevoDiffersFromDesired(fake, config, profitwell)).toEqual([]);
  }, 120_000);

  it("a change whose transaction commits long after later ones is still read, once it commits", async () => {
    const feed = source();
    let cursor: string | undefined;
    for (;;) {
      const page = await feed.changedSince(cursor, 1000);
      cursor = page.cursor;
      if (page.rows.length < 1000) break;
    }
    const [a, b] = (
      await pool.query<{ customer_id: string }>(
        `SELECT customer_id FROM "${projection.schema}".customer_metrics ORDER BY customer_id LIMIT 2`,
      )
    ).rows.map((r) => r.customer_id);
    const slow = await pool.connect();
    try {
      // A projector batch that started first, and commits last (it waited on a lock, a slow disk…).
      await slow.query("BEGIN");
      await slow.query(
        `UPDATE ${projectionTable()} SET name = 'slow', change_xid = pg_current_xact_id() WHERE customer_id = $1`,
        [a],
      );
      await pool.query(
        `UPDATE ${projectionTable()} SET name = 'fast', change_xid = pg_current_xact_id() WHERE customer_id = $1`,
        [b],
      );
      // While the slow one is open, nothing past it is handed out: the cursor cannot pass it.
      const during = await feed.changedSince(cursor, 1000);
      expect(during.rows).toEqual([]);
      expect(during.cursor).toBe(cursor);
      await slow.query("COMMIT");
    } finally {
      slow.release();
    }
    await untilVisibleToFeed(pool);
    const after = await feed.changedSince(cursor, 1000);
    expect(after.rows.map((r) => [r.customerId, r.name])).toEqual(
      [
        [a, "slow"],
        [b, "fast"],
      ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    );
  });
});
