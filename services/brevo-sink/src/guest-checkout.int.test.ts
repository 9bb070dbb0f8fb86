import { createStripeConnection } from "@sbs/ingest/commands";
import {
  createEventLog,
  createLineItemsEnricher,
  ENVELOPE_SUBJECT,
  type LineItemsEnricher,
} from "@sbs/ingest/enrichment";
import { FAKE_SECRET_KEY, type FakeStripe, startFakeStripe } from "@sbs/ingest/testing/fake-stripe";
import { createKafka, createLogger, createPool, createSchemaRegistry, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack, uniqueName, waitFor, waitForGroupCaughtUp } from "@sbs/shared/testing";
import { type Admin, Partitioners, type Producer } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "./adapters/clock.ts";
import { noEvents } from "./adapters/event-source.ts";
import { createKafkaEventConsumer, type KafkaEventConsumer } from "./adapters/kafka-event-consumer.ts";
import { createPgSinkState } from "./adapters/pg-sink-state.ts";
import { createMemoryProjectionSource } from "./adapters/projection-source.ts";
import { MIGRATIONS_DIR } from "./app.ts";
import { parseSinkConfigText } from "./config-file.ts";
import { guestKey } from "./domain/guest.ts";
import { syncOnce } from "./sync.ts";
import { customer } from "./testing/customers.ts";
import { openTestEventLog, stripeEvent, type TestEventLog } from "./testing/event-log.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { testSyncOptions, testTransport } from "./testing/harness.ts";
import { eventsSentTwice } from "./testing/oracle.ts";

/**
 * Issue #20 end to end on the real parts (Kafka, registry, Postgres), with the fakes of Stripe
 * and Brevo: a guest's checkout expires (no customer); ingest's enricher reads its line items
 * from the fake Stripe API (one 429 first) and appends them; the sink's events consumer makes one
 * contact by email and sends one `checkout_expired` with the items and the recovery URL. The
 * same person then completes a checkout as customer cus_…: the contact pass gives the existing
 * contact the customer's ext_id (still one contact), the customer's opt-out (metadata) takes it
 * out of the marketing list, and the transactional `checkout_completed` still goes out.
 */
const config = parseSinkConfigText(`
version: 1
lists:
  all_customers: 2
  custom:
    - { name: newsletter, list_id: 9, when: "payment_count >= 0" }
consent: { marketing_lists: [9] }
events: { send_after: "2024-01-01T00:00:00Z" }
`);
const logger = createLogger({ service: "guest-checkout-int", level: "silent" });
const T = Date.parse("2025-06-01T00:00:00Z") / 1000;
const EMAIL = "Guest.Buyer@Example.com";
const RECOVERY = "https://buy.stripe.com/r/live_guest_1";

let pool: Pool;
let drop: () => Promise<void>;
let log: TestEventLog;
let admin: Admin;
let producer: Producer;
let fake: FakeBrevo;
let stripe: FakeStripe;
let topic: string;
let enricher: LineItemsEnricher;
let consumer: KafkaEventConsumer;
const sinkGroup = uniqueName("guest-sink-events");
const enricherGroup = uniqueName("guest-enricher");

const item = (id: string, description: string, quantity: number, amount: number) => ({
  id,
  object: "item",
  amount_discount: 0,
  amount_subtotal: amount,
  amount_tax: 0,
  amount_total: amount,
  currency: "eur",
  description,
  price: { id: `price_${id}`, object: "price", product: `prod_${id}`, nickname: null, unit_amount: amount / quantity },
  quantity,
});

const session = (id: string, fields: Record<string, unknown>) => ({
  id,
  object: "checkout.session",
  mode: "payment",
  currency: "eur",
  amount_total: 4200,
  customer: null,
  customer_email: null,
  customer_details: { email: EMAIL, name: null, phone: null, address: null },
  consent: { promotions: null, terms_of_service: null },
  after_expiration: null,
  ...fields,
});

const guestSession = session("cs_test_guest_1", {
  status: "expired",
  consent: { promotions: "opt_in", terms_of_service: null },
  after_expiration: { recovery: { allow_promotion_codes: true, enabled: true, expires_at: T + 86400, url: RECOVERY } },
});
const customerSession = session("cs_test_customer_2", {
  status: "complete",
  customer: "cus_guest_later",
  amount_total: 1500,
});

const stripeConnection = () =>
  createStripeConnection({
    apiKey: FAKE_SECRET_KEY,
    clock: systemClock,
    host: stripe.host,
    port: stripe.port,
    protocol: "http",
    baseBackoffMs: 10,
    maxBackoffMs: 50,
  });

const lineItemRequests = (id: string) =>
  stripe.requests.filter((r) => r.path === `/v1/checkout/sessions/${id}/line_items`).length;

beforeAll(async () => {
  const stack = testStack();
  const isolated = await isolatedSchema(stack.databaseUrl);
  drop = isolated.drop;
  await migrate({ url: stack.databaseUrl, dir: MIGRATIONS_DIR, schema: isolated.schema, logger });
  pool = createPool({ url: stack.databaseUrl, schema: isolated.schema, applicationName: "guest-checkout-int" });
  topic = uniqueName("guest-checkout");
  log = await openTestEventLog({
    brokers: stack.kafkaBrokers,
    registryUrl: stack.schemaRegistryUrl,
    topic,
    partitions: 3,
    logger,
  });
  admin = log.kafka.admin();
  await admin.connect();
  fake = await startFakeBrevo({
    importDelayMs: 5,
    rateLimits: { contacts: { perSecond: 1000, perHour: 1e6 }, events: { perSecond: 1000, perHour: 1e6 } },
  });
  const transport = testTransport(fake);
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await transport.createAttribute(a.attribute, a.type);
  stripe = await startFakeStripe();
  stripe.addCheckoutSession(guestSession, [item("li_1", "T-shirt", 2, 3000), item("li_2", "Mug", 1, 1200)]);
  stripe.addCheckoutSession(customerSession, [item("li_3", "Sticker pack", 3, 1500)]);

  const kafka = createKafka({ brokers: stack.kafkaBrokers, clientId: "guest-checkout-int", logger });
  producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const registry = createSchemaRegistry(stack.schemaRegistryUrl);
  const eventLog = await createEventLog({
    producer,
    registry,
    subject: ENVELOPE_SUBJECT,
    logger,
    timeoutMs: 15_000,
    maxInFlight: 100,
    maxBatch: 100,
  });
  enricher = createLineItemsEnricher({
    kafka,
    registry,
    topic,
    topics: { testTopic: topic, liveTopic: `${topic}.live-unused` },
    groupId: enricherGroup,
    stripe: stripeConnection().client,
    eventLog,
    logger,
    clock: systemClock,
    baseBackoffMs: 10,
    sessionTimeoutMs: 10_000,
  });
  await enricher.start();
  consumer = createKafkaEventConsumer({
    kafka,
    registry,
    topic,
    groupId: sinkGroup,
    config,
    state: createPgSinkState(pool),
    transport,
    logger,
    clock: systemClock,
    contactWaitMs: 30_000,
    contactPollMs: 100,
    source: createMemoryProjectionSource(),
    sessionTimeoutMs: 10_000,
  });
  await consumer.start();
}, 60_000);

afterAll(async () => {
  await consumer?.stop();
  await enricher?.stop();
  await producer?.disconnect();
  await admin?.disconnect();
  await log?.close();
  await fake?.close();
  await stripe?.close();
  await pool?.end();
  await drop?.();
});

const sent = (name: string) => fake.events.filter((e) => e.eventName === name);

describe("a guest's abandoned checkout, then the same person as a customer", () => {
  it("makes one contact by email and sends checkout_expired with its line items and recovery URL", async () => {
    stripe.failNext(1, { status: 429, path: `/v1/checkout/sessions/${guestSession.id}/line_items` });
    await log.append([stripeEvent("checkout.session.expired", T, guestSession)], "webhook");
    await waitFor("checkout_expired to reach Brevo", async () =>
      sent("checkout_expired").length > 0 ? true : undefined,
    );
    await waitForGroupCaughtUp(admin, sinkGroup, topic, 60_000);

    const [event] = sent("checkout_expired");
    expect(event?.identifiers).toEqual({ email_id: EMAIL.toLowerCase() });
    expect(event?.properties).toMatchObject({
      amount_total: 4200,
      amount_total_display: "42.00",
      currency: "EUR",
      recovery_url: RECOVERY,
      line_items_count: 2,
      line_items: [
        { name: "T-shirt", quantity: 2, amount_total: 3000, amount_total_display: "30.00" },
        { name: "Mug", quantity: 1, amount_total: 1200, amount_total_display: "12.00" },
      ],
    });
    // The 429 was retried by the Stripe client; the webhook itself never called Stripe.
    expect(lineItemRequests(guestSession.id)).toBe(2);
    expect(enricher.report.enriched).toBe(1);
    const contacts = [...fake.contacts.values()];
    expect(contacts.map((c) => ({ email: c.email, extId: c.extId }))).toEqual([
      { email: EMAIL.toLowerCase(), extId: null },
    ]);
    // Opted in at checkout: in the marketing list.
    expect([...(contacts[0]?.listIds ?? [])]).toEqual([9]);
    // The ledger names the guest by a hash, never by the email.
    const ledger = await pool.query<{ customer_id: string }>("SELECT customer_id FROM brevo_event_ledger");
    expect(ledger.rows).toEqual([{ customer_id: guestKey(EMAIL) }]);
  });

  it("links the later customer to the same contact and keeps transactional events after an opt-out", async () => {
    await log.append([stripeEvent("checkout.session.completed", T + 3600, customerSession)], "webhook");
    // The customer's contact is pushed by the pass (projection row); its metadata says opt_out.
    const source = createMemoryProjectionSource();
    source.put(customer("cus_guest_later", { email: EMAIL.toLowerCase(), metadata: { marketing_consent: "opt_out" } }));
    await syncOnce(
      {
        config,
        source,
        events: noEvents,
        state: createPgSinkState(pool),
        transport: testTransport(fake),
        logger,
        clock: systemClock,
      },
      { ...testSyncOptions, mode: "resync" },
    );
    await waitFor("checkout_completed to reach Brevo", async () =>
      sent("checkout_completed").length > 0 ? true : undefined,
    );
    await waitForGroupCaughtUp(admin, sinkGroup, topic, 60_000);

    const contacts = [...fake.contacts.values()];
    expect(contacts).toHaveLength(1);
    expect(contacts[0]).toMatchObject({ email: EMAIL.toLowerCase(), extId: "cus_guest_later" });
    // Opt-out: out of the marketing list (9), still in the transactional one (2).
    expect([...(contacts[0]?.listIds ?? [])]).toEqual([2]);
    const [completed] = sent("checkout_completed");
    expect(completed?.identifiers).toEqual({ ext_id: "cus_guest_later" });
    expect(completed?.properties).toMatchObject({
      line_items: [{ name: "Sticker pack", quantity: 3, amount_total: 1500 }],
    });
    expect(sent("checkout_expired")).toHaveLength(1);
    expect(eventsSentTwice(fake)).toEqual([]);
  });

  it("still sends the event, without items, when Stripe does not know the session (404)", async () => {
    const unknown = session("cs_test_unknown_3", {
      status: "expired",
      customer_details: { email: "someone.else@example.com" },
    });
    await log.append([stripeEvent("checkout.session.expired", T + 7200, unknown)], "webhook");
    await waitFor("the second checkout_expired", async () => (sent("checkout_expired").length > 1 ? true : undefined));
    await waitForGroupCaughtUp(admin, sinkGroup, topic, 60_000);
    const last = sent("checkout_expired").at(-1);
    expect(last?.identifiers).toEqual({ email_id: "someone.else@example.com" });
    expect(last?.properties).toMatchObject({ amount_total: 4200, stripe_event_id: expect.stringMatching(/^evt_/) });
    expect(last?.properties).not.toHaveProperty("line_items");
    expect(enricher.report.withoutItems).toBe(1);
    expect(lineItemRequests(unknown.id)).toBe(1);
  });
});
