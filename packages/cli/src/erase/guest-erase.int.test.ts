import { guestIdOf } from "@sbs/brevo-sink/erasure";
import { type FakeBrevo, startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { testTransport } from "@sbs/brevo-sink/testing/harness";
import { createLogger, createPool, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateAll } from "../migrate/migrate-all.ts";
import { erase } from "./erase.ts";

/**
 * Issue #20 × #16: a guest (a checkout without Stripe customer) is known to the sink only, by a
 * hash of the email in its event ledger and by a Brevo contact identified by email. `pnpm cli
 * erase <email>` removes both, where before it answered "no customer with that email".
 */
const silent = createLogger({ service: "guest-erase-int", level: "silent" });
const GUEST = "Guest.Erased@Example.com";
let schema: Awaited<ReturnType<typeof isolatedSchema>>;
let pool: Pool;
let fake: FakeBrevo;

beforeAll(async () => {
  const stack = testStack();
  schema = await isolatedSchema(stack.databaseUrl);
  await migrateAll(stack.databaseUrl, schema.schema, silent);
  pool = createPool({ url: stack.databaseUrl, schema: schema.schema, applicationName: "guest-erase-int" });
  fake = await startFakeBrevo();
}, 60_000);

afterAll(async () => {
  await fake?.close();
  await pool?.end();
  await schema?.drop();
});

describe("erase <email> of a guest", () => {
  it("removes the guest's ledger rows and its Brevo contact by email, and leaves others alone", async () => {
    const transport = testTransport(fake);
    // What the sink leaves after a guest's checkout_expired (sync.ts, guest path).
    expect((await transport.upsertGuest(GUEST.toLowerCase(), { add: [], remove: [] })).ok).toBe(true);
    expect((await transport.upsertGuest("other.guest@example.com", { add: [], remove: [] })).ok).toBe(true);
    await pool.query(
      `INSERT INTO brevo_event_ledger (stripe_event_id, customer_id, event_name, status)
       VALUES ('evt_g1', $1, 'checkout_expired', 'sent'), ('evt_g2', $2, 'checkout_expired', 'sent')`,
      [guestIdOf(GUEST), guestIdOf("other.guest@example.com")],
    );
    const said: string[] = [];
    const report = await erase(GUEST, "ticket-20", {
      projector: pool,
      sink: pool,
      deleteContact: (id, type) => transport.deleteContact(id, type),
      settleMs: 0,
      say: (line) => said.push(line),
    });
    expect(report).toMatchObject({ customers: [], brevo: "deleted" });
    expect(said.join("\n")).toContain("guest: removed 1 event-ledger row(s)");
    const { rows } = await pool.query<{ customer_id: string }>("SELECT customer_id FROM brevo_event_ledger");
    expect(rows).toEqual([{ customer_id: guestIdOf("other.guest@example.com") }]);
    expect([...fake.contacts.values()].map((c) => c.email)).toEqual(["other.guest@example.com"]);
    // Nobody left under that email: a second run says so instead of pretending.
    await expect(
      erase(GUEST, null, { projector: pool, sink: pool, deleteContact: undefined, settleMs: 0, say: () => {} }),
    ).rejects.toThrow(/no customer with that email/);
  });
});
