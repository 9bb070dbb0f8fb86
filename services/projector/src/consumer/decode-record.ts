import { AppError, type SchemaRegistry } from "@sbs/shared";
import { type DecodedEvent, decodeEvent } from "../domain/index.ts";

/** A record the projector can never apply, whatever it retries: it goes to the dead-letter topic. */
export interface Poison {
  readonly errorClass:
    | "empty_value"
    | "avro_decode"
    | "schema_not_found"
    | "payload_json"
    | "invalid_event"
    | "reducer";
  readonly reason: string;
}

export type RecordOutcome = { readonly ok: true; readonly event: DecodedEvent } | ({ readonly ok: false } & Poison);

interface AvroType {
  fromBuffer(buffer: Buffer): unknown;
}

/**
 * Decodes record values: Confluent wire format (magic byte 0, 4-byte schema id, Avro body), the
 * envelope's `payload` (the Stripe event JSON), then the domain's `decodeEvent`. Bad bytes and
 * invalid events are returned as Poison; a registry that cannot be reached throws a retriable
 * AppError, so the caller blocks and retries instead of dead-lettering good records.
 */
export function createRecordDecoder(registry: SchemaRegistry) {
  const schemas = new Map<number, AvroType>();

  const schemaFor = async (id: number): Promise<AvroType | Poison> => {
    const known = schemas.get(id);
    if (known) return known;
    try {
      const schema = (await registry.getSchema(id)) as unknown as AvroType;
      schemas.set(id, schema);
      return schema;
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      // 404: the registry does not know the id; every retry would say the same.
      if (status === 404) return { errorClass: "schema_not_found", reason: `schema id ${id} is not registered` };
      throw new AppError("schema_registry_unavailable", `fetching schema ${id} failed`, { retriable: true, cause });
    }
  };

  return async (value: Buffer | null): Promise<RecordOutcome> => {
    if (value === null || value.length === 0)
      return { ok: false, errorClass: "empty_value", reason: "record has no value" };
    if (value.length < 5 || value[0] !== 0) {
      return {
        ok: false,
        errorClass: "avro_decode",
        reason: "not in Confluent wire format (magic byte 0 + schema id)",
      };
    }
    const schema = await schemaFor(value.readInt32BE(1));
    if ("errorClass" in schema) return { ok: false, ...schema };
    let envelope: { payload?: unknown };
    try {
      envelope = schema.fromBuffer(value.subarray(5)) as { payload?: unknown };
    } catch (error) {
      return {
        ok: false,
        errorClass: "avro_decode",
        reason: `Avro body does not match its schema: ${(error as Error).message}`,
      };
    }
    if (typeof envelope.payload !== "string") {
      return { ok: false, errorClass: "avro_decode", reason: "envelope has no string payload" };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(envelope.payload);
    } catch (error) {
      return { ok: false, errorClass: "payload_json", reason: `payload is not JSON: ${(error as Error).message}` };
    }
    const decoded = decodeEvent(raw);
    return decoded.ok
      ? { ok: true, event: decoded.event }
      : { ok: false, errorClass: "invalid_event", reason: decoded.reason };
  };
}

export type RecordDecoder = ReturnType<typeof createRecordDecoder>;
