import { createSinkApp } from "@sbs/brevo-sink/app";
import { loadSinkEnv } from "@sbs/brevo-sink/config";
import { parseSinkConfigText } from "@sbs/brevo-sink/config-file";
import { type FakeBrevo, startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { testTransport } from "@sbs/brevo-sink/testing/harness";
import { createProjector, type Projector } from "@sbs/projector/app";
import { runRebuild } from "@sbs/projector/commands";
import { loadProjectorConfig } from "@sbs/projector/config";
import { openTestEventLog, type TestEventLog } from "@sbs/projector/testing/event-log";
import { tablesHolding } from "@sbs/projector/testing/pii-scan";
import { foldedRows, viewRows } from "@sbs/projector/testing/projection-rows";
import {
  charge,
  customer,
  dispute,
  event,
  type RawEvent,
  refund,
  subscription,
} from "@sbs/projector/testing/stripe-test-events";
import { createKafka, createLogger, createPool, createSchemaRegistry, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName, waitFor } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCompactLog } from "../compact-log/command.ts";
import { migrateAll } from "../migrate/migrate-all.ts";
import { erase } from "./erase.ts";

/**
 * Issue #16, end to end on the real stack: a customer with payments, a subscription, a refund, a
 * dispute (keyed by its own id, naming only the charge) and a Brevo contact is erased. Afterwards
 * no table, no record of the compacted topic and no fake-Brevo contact holds their email or any of
 * their ids; the other customers' projection equals the fold of the compacted topic; and neither a
 * late webhook nor a rebuild from the original topic brings them back.
 */

const stack = testStack();
const silent = createLogger({ service: "erase-int", level: "silent" });
const topic = uniqueName("erase");
const ERASED = {
  id: "cus_era",
  email: "ada.erased@example.com",
  objects: ["ch_era1", "ch_era2", "sub_era", "re_era", "dp_era"],
};
const T = 1_700_000_000;

const history = (id: string, email: string, n: number): RawEvent[] => [
  event("customer.created", T, customer(id, { email, name: `Name of ${id}`, phone: `+1 555 010${n}` })),
  event("charge.succeeded", T + 10 + n, charge(`ch_${id.slice(4)}1`, id, { amount: 1000 + n })),
  event("charge.succeeded", T + 20 + n, charge(`ch_${id.slice(4)}2`, id, { amount: 2000 })),
  event("customer.subscription.created", T + 30, subscription({ id: `sub_${id.slice(4)}`, customer: id })),
];
const erasedEvents: RawEvent[] = [
  ...history(ERASED.id, ERASED.email, 0),
  event("charge.refunded", T + 40, refund("re_era", "ch_era1", { amount: 100 })),
  event("charge.dispute.created", T + 50, dispute("dp_era", "ch_era2")),
];
const others: RawEvent[] = [
  ...history("cus_bob", "bob@example.com", 1),
  ...history("cus_eve", "eve@example.com", 2),
  event("charge.dispute.created", T + 60, dispute("dp_bob", "ch_bob1")),
];

let schema: Awaited<ReturnType<typeof isolatedSchema>>;
let pool: Pool;
let log: TestEventLog;
let fake: FakeBrevo;
let projector: Projector | undefined;
let ownerEnv: Record<string, string>;

const needles = [ERASED.email, ERASED.id, ...ERASED.objects, "re_new"];
const leftovers = async () => {
  const found: string[] = [];
  for (const n of needles) for (const t of await tablesHolding(pool, n)) found.push(`${t}: ${n}`);
  return found;
};
const fakeHolds = () =>
  [...fake.contacts.values()].filter((c) => c.email === ERASED.email || c.extId === ERASED.id).length;

/** Every record of a topic: key, value bytes as text, and the Stripe event the envelope carries. */
async function readTopic(name: string) {
  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "erase-int-reader", logger: silent });
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(name)).reduce((n, p) => n + Number(p.high), 0);
  await admin.disconnect();
  const registry = createSchemaRegistry(stack.schemaRegistryUrl);
  const consumer = kafka.consumer({ groupId: uniqueName("erase-int-read") });
  const records: { key: string; text: string; event: RawEvent }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: name, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const envelope = (await registry.decode(message.value as Buffer)) as { payload: string };
      records.push({
        key: message.key?.toString() ?? "",
        text: `${message.key?.toString()} ${message.value?.toString("latin1")}`,
        event: JSON.parse(envelope.payload) as RawEvent,
      });
    },
  });
  await waitFor(`${total} records of ${name}`, async () => (records.length >= total ? true : undefined));
  await consumer.disconnect();
  return records;
}

beforeAll(async () => {
  schema = await isolatedSchema(stack.databaseUrl);
  await migrateAll(stack.databaseUrl, schema.schema, silent);
  pool = createPool({ url: stack.databaseUrl, schema: schema.schema, applicationName: "erase-int" });
  log = await openTestEventLog({
    brokers: stack.kafkaBrokers,
    registryUrl: stack.schemaRegistryUrl,
    topic,
    partitions: 2,
    logger: silent,
  });
  fake = await startFakeBrevo({});
  ownerEnv = {
    KAFKA_BROKERS: stack.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    DATABASE_URL: stack.databaseUrl,
    DATABASE_SCHEMA: schema.schema,
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName("erase-int-projector"),
    MIGRATE_ON_START: "false",
    SUPERVISE_INTERVAL_MS: "300",
    KAFKA_SESSION_TIMEOUT_MS: "10000",
    LOG_LEVEL: "silent",
    HTTP_PORT: "0",
  };
});
afterAll(async () => {
  await projector?.stop();
  await fake?.close();
  await log?.close();
  await pool?.end();
  await schema?.drop();
});

/** The projector in-process as its own DML-only role. */
async function startProjector(env: Record<string, string>) {
  const url = stack.serviceDatabaseUrls?.projector ?? stack.databaseUrl;
  const p = createProjector(loadProjectorConfig({ ...env, DATABASE_URL: url }), { logger: silent });
  await p.start();
  return p;
}

const processed = (n: number) =>
  waitFor(
    `${n} records processed`,
    async () => {
      const { rows } = await pool.query<{ n: string }>(
        "SELECT COALESCE(sum(o.next_offset), 0) AS n FROM processed_offset o JOIN projection_pointer p USING (generation) WHERE o.topic = $1",
        [topic],
      );
      return Number(rows[0]?.n ?? 0) >= n ? true : undefined;
    },
    60_000,
  );

describe("pnpm cli erase and compact-log", () => {
  it("leave no trace of the erased customer, keep everyone else, and survive replays", async () => {
    await log.append([...erasedEvents, ...others]);
    projector = await startProjector(ownerEnv);
    await processed(erasedEvents.length + others.length);

    // The sink, as its own role, pushes every contact to the fake Brevo.
    const sinkEnv = loadSinkEnv({
      DATABASE_URL: stack.serviceDatabaseUrls?.sink ?? stack.databaseUrl,
      DATABASE_SCHEMA: schema.schema,
      MIGRATE_ON_START: "false",
      BREVO_API_KEY: fake.apiKey,
      BREVO_BASE_URL: fake.url,
      SINK_SELF_TEST: "off",
      LOG_LEVEL: "silent",
    });
    const sinkConfig = parseSinkConfigText("version: 1\nevents: { enabled: false }\n");
    const sink = createSinkApp(sinkEnv, sinkConfig, { logger: silent });
    await sink.prepare();
    // Passes until every contact is there: the change feed waits for older transactions anywhere
    // on the server (the shared test Postgres has plenty) before it shows a row.
    await waitFor("the sink to push the three contacts", async () => {
      await sink.runOnce();
      return fake.contacts.size === 3 ? true : undefined;
    });
    expect(fakeHolds()).toBe(1);
    expect(await leftovers()).not.toEqual([]);

    const transport = testTransport(fake);
    const said: string[] = [];
    const deps = {
      projector: pool,
      sink: pool,
      deleteContact: (id: string) => transport.deleteContact(id),
      settleMs: 1000,
      say: (line: string) => said.push(line),
    };
    const report = await erase(ERASED.email, "ticket-4711", deps);
    expect(report.customers).toEqual([ERASED.id]);
    expect(report.objects).toBe(ERASED.objects.length);
    expect(report.brevo).toBe("deleted");
    expect(await leftovers()).toEqual([]);
    expect(fakeHolds()).toBe(0);
    expect([...fake.contacts.values()].map((c) => c.extId).sort()).toEqual(["cus_bob", "cus_eve"]);
    // The sink's next pass has nothing to say about them.
    expect((await sink.runOnce("resync")).pushed).toBe(0);
    expect(fakeHolds()).toBe(0);
    await sink.stop();

    // Idempotent: by id now (their email is gone everywhere), nothing left to remove.
    const again = await erase(ERASED.id, null, deps);
    expect(again.earlier).toEqual([ERASED.id]);
    expect(again.projectorRows.reduce((n, c) => n + c.rows, 0)).toBe(0);
    expect(again.secondPass).toBe(0);
    // And by email: recognised from the erasure list's digest.
    expect((await erase(ERASED.email, null, deps)).customers).toEqual([]);

    // A late webhook (and a dispute update keyed by the dispute's own id) does not bring them back.
    const late = [
      event("charge.succeeded", T + 90, charge("ch_era1", ERASED.id, { amount: 5000 })),
      event("charge.dispute.updated", T + 91, dispute("dp_era", "ch_era2", { status: "under_review" })),
      event("customer.updated", T + 92, customer(ERASED.id, { email: ERASED.email })),
      // A refund the erasure never saw: keyed by its own id, it names an erased charge.
      event("charge.refund.updated", T + 93, refund("re_new", "ch_era2")),
    ];
    await log.append(late);
    await processed(erasedEvents.length + others.length + late.length);
    expect(await leftovers()).toEqual([]);
    await projector.stop();
    projector = undefined;

    // compact-log: a dry run counts, the real run copies, rebuilds from the copy and switches.
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, env: ownerEnv };
    expect(await runCompactLog(["--dry-run"], io)).toBe(0);
    const dry = JSON.parse(out.pop() ?? "{}") as { droppedByKey: number; droppedByEvent: number; target: null };
    const goes = erasedEvents.length + late.length;
    expect(dry.droppedByKey + dry.droppedByEvent).toBe(goes);
    // Keys name the customer or an object the erasure recorded; the late refund only by its event.
    expect(dry.droppedByEvent).toBe(1);
    const target = `${topic}.compacted`;
    expect(await runCompactLog(["--target", target], io)).toBe(0);
    const done = JSON.parse(out.pop() ?? "{}") as { kept: number; rebuild: { switched: boolean } };
    expect(done.kept).toBe(others.length);
    expect(done.rebuild.switched).toBe(true);

    const compacted = await readTopic(target);
    expect(compacted).toHaveLength(others.length);
    for (const n of needles) expect(compacted.filter((r) => r.text.includes(n))).toEqual([]);
    // The other customers: the projection equals the fold of the compacted topic.
    const fold = foldedRows(compacted.map((r) => r.event));
    expect(fold.map((r) => r.customer_id)).toEqual(["cus_bob", "cus_eve"]);
    expect(await viewRows(pool)).toEqual(fold);
    expect(await leftovers()).toEqual([]);
    const { rows } = await pool.query("SELECT compacted_into FROM erasure_request");
    expect(rows).toEqual([{ compacted_into: target }]);

    // A replay of the original topic (which still holds them) does not resurrect them.
    const replay = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: 60_000 },
      { config: loadProjectorConfig(ownerEnv), logger: silent, err: { write: () => true } },
    );
    expect(replay.switched).toBe(true);
    expect(await viewRows(pool)).toEqual(fold);
    expect(await leftovers()).toEqual([]);
  });
});
