import { LINE_ITEMS_EVENT_TYPE as INGEST_LINE_ITEMS_TYPE, lineItemsEvent } from "@sbs/ingest/line-items";
import { describe, expect, it } from "vitest";
import { parseSinkConfigText } from "../config-file.ts";
import { customer } from "../testing/customers.ts";
import { desiredContact, marketingConsent } from "./desired.ts";
import { diffContact } from "./diff.ts";
import { envelopeToSinkEvent, LINE_ITEMS_EVENT_TYPE } from "./envelope.ts";
import { decideEvent, type SinkEvent } from "./events.ts";
import { guestEmailOf, guestKey, guestLists } from "./guest.ts";

/** Issue #20: guests, the enricher's line-items record, marketing consent. */

const T = 1_750_000_000;
const session = (fields: Record<string, unknown> = {}) => ({
  id: "cs_1",
  object: "checkout.session",
  customer: null,
  currency: "usd",
  amount_total: 2500,
  customer_details: { email: " Buyer@Example.COM " },
  ...fields,
});
const webhook = (type: string, object: unknown, source = "webhook") => ({
  event_id: "evt_cs_1",
  type,
  created: T,
  source,
  payload: JSON.stringify({ id: "evt_cs_1", object: "event", type, created: T, data: { object } }),
});
/** The record ingest's enricher appends, built by ingest's own function. */
const enriched = (type: string, object: Record<string, unknown>, source = "webhook") => {
  const event = lineItemsEvent(
    { id: "evt_cs_1", type, created: T, livemode: false, api_version: null, source, data: { object } },
    { ok: true, items: [], truncated: false },
  );
  return { event_id: event.id, type: event.type, created: T, source: "enrichment", payload: JSON.stringify(event) };
};
const config = (extra = "") => parseSinkConfigText(`version: 1\n${extra}`);

describe("guest identity", () => {
  it("takes the buyer's email from customer_details, else customer_email; normalised", () => {
    expect(guestEmailOf(session())).toBe("buyer@example.com");
    expect(guestEmailOf(session({ customer_details: null, customer_email: "Pre@Filled.io" }))).toBe("pre@filled.io");
    expect(guestEmailOf(session({ customer_details: { email: null } }))).toBeUndefined();
    expect(guestEmailOf({ ...session(), object: "payment_intent" })).toBeUndefined();
  });

  it("names a guest by a hash of the email, the same for any spelling of it, never the email", () => {
    expect(guestKey("Buyer@Example.com")).toBe(guestKey(" buyer@example.COM"));
    expect(guestKey("a@example.com")).not.toBe(guestKey("b@example.com"));
    expect(guestKey("buyer@example.com")).toMatch(/^guest_[0-9a-f]{32}$/);
  });

  it("the sink and ingest agree on the line-items record's type", () => {
    expect(LINE_ITEMS_EVENT_TYPE).toBe(INGEST_LINE_ITEMS_TYPE);
  });
});

describe("envelopeToSinkEvent for Checkout", () => {
  it("makes a checkout session without customer a guest's event; with a customer, the customer's", () => {
    const guest = envelopeToSinkEvent(webhook("checkout.session.expired", session()));
    expect(guest).toMatchObject({
      ok: true,
      event: { customerId: guestKey("buyer@example.com"), guestEmail: "buyer@example.com", enriched: false },
    });
    const known = envelopeToSinkEvent(webhook("checkout.session.expired", session({ customer: "cus_9" })));
    expect(known.ok && known.event).toMatchObject({ customerId: "cus_9" });
    expect(known.ok && known.event.guestEmail).toBeUndefined();
    // No customer and no email: nobody to send it to.
    const nobody = envelopeToSinkEvent(webhook("checkout.session.expired", session({ customer_details: null })));
    expect(nobody).toEqual({ ok: false, reason: "no_customer" });
  });

  it("reads a line-items record as its webhook: same id, type and provenance", () => {
    const r = envelopeToSinkEvent(enriched("checkout.session.expired", session()));
    expect(r).toMatchObject({
      ok: true,
      event: { id: "evt_cs_1", type: "checkout.session.expired", live: true, enriched: true },
    });
    const replayed = envelopeToSinkEvent(enriched("checkout.session.expired", session(), "backfill"));
    expect(replayed.ok && replayed.event.live).toBe(false);
    const broken = { ...webhook(LINE_ITEMS_EVENT_TYPE, session()), source: "enrichment" };
    expect(envelopeToSinkEvent(broken)).toEqual({ ok: false, reason: "no_object" });
  });
});

describe("decideEvent for Checkout", () => {
  const fromWebhook = envelopeToSinkEvent(webhook("checkout.session.expired", session()));
  const fromRecord = envelopeToSinkEvent(enriched("checkout.session.expired", session()));
  const ev = (r: typeof fromWebhook): SinkEvent => {
    if (!r.ok) throw new Error("fixture");
    return r.event;
  };

  it.each([
    { lineItems: true, webhookSends: false, recordSends: true },
    { lineItems: false, webhookSends: true, recordSends: false },
  ])("events.line_items: $lineItems", ({ lineItems, webhookSends, recordSends }) => {
    const c = config(`events: { line_items: ${lineItems} }`);
    expect(decideEvent(ev(fromWebhook), c, 0).send).toBe(webhookSends);
    expect(decideEvent(ev(fromRecord), c, 0).send).toBe(recordSends);
  });

  it("sends a guest's event to the contact by email, a customer's by ext_id", () => {
    const d = decideEvent(ev(fromRecord), config(), 0);
    expect(d.send && d.request.identifiers).toEqual({ email_id: "buyer@example.com" });
    const known = envelopeToSinkEvent(enriched("checkout.session.completed", session({ customer: "cus_9" })));
    const k = decideEvent(ev(known), config(), 0);
    expect(k.send && k.request).toMatchObject({ event_name: "checkout_completed", identifiers: { ext_id: "cus_9" } });
  });
});

describe("marketing consent", () => {
  const c = config(`
lists: { all_customers: 2, subscribers: 3, custom: [{ name: news, list_id: 9, when: "payment_count >= 0" }] }
consent: { marketing_lists: [9] }
`);
  const lists = (metadata: Record<string, string>, cfg = c) => {
    const d = desiredContact(customer("cus_1", { metadata }), cfg);
    return d.kind === "contact" ? d.state.lists : null;
  };

  it.each([
    [{}, [2]],
    [{ marketing_consent: "opt_in" }, [2, 9]],
    [{ marketing_consent: " YES " }, [2, 9]],
    [{ marketing_consent: "true" }, [2, 9]],
    [{ marketing_consent: "opt_out" }, [2]],
    [{ marketing_consent: "revoked" }, [2]],
    [{ marketing_consent: "maybe" }, [2]],
  ])("metadata %j → lists %j (default opt_out)", (metadata, want) => {
    expect(lists(metadata)).toEqual(want);
  });

  it("takes the metadata key and the default from the config", () => {
    const optIn = config(`
lists: { all_customers: 2, custom: [{ name: news, list_id: 9, when: "payment_count >= 0" }] }
consent: { marketing_lists: [9], metadata_key: newsletter, default: opt_in }
`);
    expect(lists({}, optIn)).toEqual([2, 9]);
    expect(lists({ newsletter: "no" }, optIn)).toEqual([2]);
    expect(marketingConsent(customer("cus_1", { metadata: { marketing_consent: "no" } }), optIn)).toBe(true);
  });

  it("changes nothing when no list is marked marketing", () => {
    expect(lists({ marketing_consent: "opt_out" }, config("lists: { all_customers: 2 }"))).toEqual([2]);
  });

  it("refuses a marketing list that is not managed", () => {
    expect(() => config("lists: { all_customers: 2 }\nconsent: { marketing_lists: [7] }")).toThrow(
      /consent\.marketing_lists\[0\].*not one of the managed lists/,
    );
  });

  it("an opt-out removes a pushed contact from the marketing list; a new contact leaves it too", () => {
    const desired = desiredContact(customer("cus_1", { metadata: { marketing_consent: "opt_out" } }), c);
    const pushed = { extId: "cus_1", email: "cus_1@example.com", attributes: {}, lists: [2, 9], deleted: false };
    const update = diffContact(desired, pushed, "delete_contact", c.consent.marketingLists);
    expect(update.kind === "push" && update.command).toMatchObject({ kind: "update", removeLists: [9] });
    const created = diffContact(desired, undefined, "delete_contact", c.consent.marketingLists);
    expect(created.kind === "push" && created.command).toMatchObject({ kind: "create", lists: [2], removeLists: [9] });
    const consenting = desiredContact(customer("cus_1", { metadata: { marketing_consent: "opt_in" } }), c);
    const joined = diffContact(consenting, undefined, "delete_contact", c.consent.marketingLists);
    expect(joined.kind === "push" && joined.command).not.toHaveProperty("removeLists");
  });

  it("a guest joins or leaves the marketing lists only on an explicit choice at checkout", () => {
    const marketing = new Set([9, 4]);
    expect(guestLists(session({ consent: { promotions: "opt_in" } }), marketing)).toEqual({ add: [4, 9], remove: [] });
    expect(guestLists(session({ consent: { promotions: "opt_out" } }), marketing)).toEqual({ add: [], remove: [4, 9] });
    expect(guestLists(session({ consent: { promotions: null } }), marketing)).toEqual({ add: [], remove: [] });
    expect(guestLists(session(), marketing)).toEqual({ add: [], remove: [] });
  });
});
