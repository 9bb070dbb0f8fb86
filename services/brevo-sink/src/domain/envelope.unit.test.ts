import { describe, expect, it } from "vitest";
import { envelopeToSinkEvent } from "./envelope.ts";

const envelope = (object: unknown, source = "webhook") => ({
  event_id: "evt_1",
  type: "invoice.payment_failed",
  created: 1_750_000_000,
  source,
  payload: JSON.stringify({ id: "evt_1", object: "event", data: { object } }),
});

describe("envelopeToSinkEvent", () => {
  it("keys the event to the customer: the object's customer id, an expanded customer, or the customer itself", () => {
    for (const [object, want] of [
      [{ id: "in_1", object: "invoice", customer: "cus_1" }, "cus_1"],
      [{ id: "ch_1", object: "charge", customer: { id: "cus_2", object: "customer" } }, "cus_2"],
      [{ id: "cus_3", object: "customer" }, "cus_3"],
    ] as const) {
      const r = envelopeToSinkEvent(envelope(object));
      expect(r.ok && r.event.customerId).toBe(want);
    }
  });

  it("only webhook deliveries are live; backfill and catch-up are history", () => {
    const object = { id: "in_1", object: "invoice", customer: "cus_1" };
    const live = (source: string) => {
      const r = envelopeToSinkEvent(envelope(object, source));
      return r.ok && r.event.live;
    };
    expect([live("webhook"), live("backfill"), live("catch-up")]).toEqual([true, false, false]);
  });

  it("refuses events without a customer or with a payload that is not JSON", () => {
    expect(envelopeToSinkEvent(envelope({ id: "ch_1", object: "charge", customer: null }))).toEqual({
      ok: false,
      reason: "no_customer",
    });
    expect(envelopeToSinkEvent({ ...envelope({}), payload: "{" })).toEqual({ ok: false, reason: "payload_json" });
    expect(envelopeToSinkEvent({ ...envelope({}), payload: "{}" })).toEqual({ ok: false, reason: "no_object" });
  });
});
