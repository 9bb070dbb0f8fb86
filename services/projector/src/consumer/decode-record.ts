import { AppError, type SchemaRegistry } from "@sbs/shared";
import { type DecodedEvent, decodeEvent, type ErasedIds, namesErased } from "../domain/index.ts";
import { needsStorableText, toStorableText } from "./storable-text.ts";

/** A record the projector can never apply, whatever it retries: it goes to the dead-letter topic. */
export interface Poison {
  readonly errorClass:
    | "empty_value"
    | "avro_decode"
    | "payload_json"
    | "invalid_event"
    | "reducer"
    | "database_rejected";
  readonly reason: string;
}

/** Why an event that names an erased customer or object is not folded (an `ignored` outcome). */
export const ERASED_REASON = "erased";

export type RecordOutcome = { readonly ok: true; readonly event: DecodedEvent } | ({ readonly ok: false } & Poison);

interface AvroType {
  fromBuffer(buffer: Buffer): unknown;
}

/**
 * Decodes record values: Confluent wire format (magic byte 0, 4-byte schema id, Avro body), the
 * envelope's `payload` (the Stripe event JSON), then the domain's `decodeEvent`. Bad bytes and
 * invalid events are returned as Poison. A registry that cannot be reached, or that does not know
 * the schema id, throws a retriable AppError: the partition blocks and retries instead of
 * dead-lettering good records. An unknown id is an outage, not poison: a wrong
 * SCHEMA_REGISTRY_URL, a fresh registry or one restored from an old backup would otherwise turn
 * the whole history into dead letters.
 */
export function createRecordDecoder(
  registry: SchemaRegistry,
  registryUrl = "the schema registry",
  /** The erasure list: an event naming an erased id decodes to `ignored` (counted, never folded). */
  erased?: ErasedIds,
) {
  const schemas = new Map<number, AvroType>();

  const schemaFor = async (id: number): Promise<AvroType> => {
    const known = schemas.get(id);
    if (known) return known;
    // Resolved once per id for the process's life: a registry's ids are immutable.
    try {
      const schema = (await registry.getSchema(id)) as unknown as AvroType;
      schemas.set(id, schema);
      return schema;
    } catch (cause) {
      const status = (cause as { status?: number }).status;
      if (status === 404) {
        throw new AppError(
          "schema_not_registered",
          `schema id ${id} is unknown to ${registryUrl}: is SCHEMA_REGISTRY_URL the registry ingest writes to (not a fresh one, or one restored from an old backup)? Blocking until it resolves`,
          { retriable: true, cause },
        );
      }
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
      if (needsStorableText(envelope.payload)) raw = toStorableText(raw);
    } catch (error) {
      return { ok: false, errorClass: "payload_json", reason: `payload is not JSON: ${(error as Error).message}` };
    }
    const decoded = decodeEvent(raw);
    if (!decoded.ok) return { ok: false, errorClass: "invalid_event", reason: decoded.reason };
    if (erased !== undefined && namesErased(decoded.event, erased)) {
      return { ok: true, event: { meta: decoded.event.meta, outcome: "ignored", reason: ERASED_REASON } };
    }
    return { ok: true, event: decoded.event };
  };
}

export type RecordDecoder = ReturnType<typeof createRecordDecoder>;
