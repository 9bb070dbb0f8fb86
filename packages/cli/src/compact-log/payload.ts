import type { SchemaRegistry } from "@sbs/shared";

/** The Stripe event JSON inside ingest's Avro envelope (Confluent wire format, schema by id). */
export const envelopePayload =
  (registry: SchemaRegistry) =>
  async (value: Buffer): Promise<string> => {
    const envelope = (await registry.decode(value)) as { payload?: unknown };
    if (typeof envelope.payload !== "string") throw new Error("envelope has no string payload");
    return envelope.payload;
  };
