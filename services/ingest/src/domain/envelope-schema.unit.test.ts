import avro from "avsc";
import { describe, expect, it } from "vitest";
import { objects, stripeEventBody } from "../testing/stripe-signing.ts";
import { parseStripeEvent } from "./envelope.ts";
import { STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA, type StripeEventEnvelope, toEnvelope } from "./envelope-schema.ts";

// avsc is the Avro implementation behind @kafkajs/confluent-schema-registry.
const type = avro.Type.forSchema(structuredClone(STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA) as unknown as avro.Schema);
const RECEIVED_AT = Date.UTC(2024, 6, 26, 0, 34, 20, 123);

function parsed(raw: string) {
  const result = parseStripeEvent(Buffer.from(raw, "utf8"));
  if (!result.ok) throw new Error(result.reason);
  return result;
}

describe("StripeEventEnvelope Avro schema", () => {
  it("is a valid Avro record named sbs.ingest.StripeEventEnvelope", () => {
    expect(type.name).toBe("sbs.ingest.StripeEventEnvelope");
  });

  it("declares exactly the fields of the TypeScript type", () => {
    const envelope = toEnvelope({
      event: parsed(stripeEventBody({ type: "customer.created", object: objects.customer() })).event,
      payload: "{}",
      receivedAt: RECEIVED_AT,
      provenance: { source: "webhook", verifiedBy: "primary" },
    });
    expect(STRIPE_EVENT_ENVELOPE_AVRO_SCHEMA.fields.map((f) => f.name)).toEqual(Object.keys(envelope));
  });
});

describe("toEnvelope", () => {
  // Non-ASCII text, Stripe's pretty printing and a key order zod would not keep: all must survive.
  const raw = stripeEventBody({
    type: "customer.updated",
    account: "acct_1Pgc6rB7WZ01zgkW",
    object: { ...objects.customer(), name: "Zoë Ødegård 山田", address: { city: "Zürich" } },
    previousAttributes: { name: "Zoe" },
  });

  it("carries the Stripe event text exactly as received and indexes it", () => {
    const { event, payload } = parsed(raw);
    const envelope = toEnvelope({
      event,
      payload,
      receivedAt: RECEIVED_AT,
      provenance: { source: "webhook", verifiedBy: "primary" },
    });
    expect(envelope).toEqual<StripeEventEnvelope>({
      event_id: "evt_1PgcB4B7WZ01zgkWt4DaqYzK",
      type: "customer.updated",
      created: 1_721_954_059,
      livemode: false,
      api_version: "2025-03-31.basil",
      account: "acct_1Pgc6rB7WZ01zgkW",
      source: "webhook",
      received_at: RECEIVED_AT,
      verified_by: "primary",
      payload: raw,
    });
  });

  it("round-trips through Avro binary byte-exact", () => {
    const { event, payload } = parsed(raw);
    const envelope = toEnvelope({
      event,
      payload,
      receivedAt: RECEIVED_AT,
      provenance: { source: "webhook", verifiedBy: "primary" },
    });
    expect(type.isValid(envelope)).toBe(true);
    const decoded = type.fromBuffer(type.toBuffer(envelope)) as StripeEventEnvelope;
    expect(decoded).toEqual(envelope);
    expect(Buffer.from(decoded.payload, "utf8").equals(Buffer.from(raw, "utf8"))).toBe(true);
  });

  it.each(["backfill", "catch-up"] as const)(
    "encodes %s records with null account, api_version and verified_by",
    (source) => {
      const { event, payload } = parsed(
        stripeEventBody({ type: "customer.created", object: objects.customer(), apiVersion: null }),
      );
      const envelope = toEnvelope({ event, payload, receivedAt: RECEIVED_AT, provenance: { source } });
      expect(envelope).toMatchObject({ source, account: null, api_version: null, verified_by: null });
      expect(type.isValid(envelope)).toBe(true);
      expect(type.fromBuffer(type.toBuffer(envelope))).toEqual(envelope);
    },
  );
});
