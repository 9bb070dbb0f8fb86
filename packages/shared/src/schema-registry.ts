import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { AppError } from "./errors.ts";

export { SchemaRegistry } from "@kafkajs/confluent-schema-registry";

export function createSchemaRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url });
}

/**
 * Registers an Avro schema under a subject whose compatibility is BACKWARD: a new version must be
 * able to read everything written with the previous one, which is what replaying the topic from
 * offset 0 relies on. Returns the schema id to encode with.
 */
export async function registerAvroSchema(
  registry: SchemaRegistry,
  subject: string,
  schema: Record<string, unknown>,
): Promise<number> {
  const register = () =>
    registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject, compatibility: COMPATIBILITY.BACKWARD },
    );
  try {
    try {
      return (await register()).id;
    } catch (first) {
      // Two processes registering a new subject at once both see "no config yet", both register
      // (idempotent) and both set its compatibility; Apicurio answers the second with 409 "a rule
      // named 'COMPATIBILITY' already exists". Once it exists, a second attempt only checks it.
      // A real incompatibility fails again and is reported below.
      if ((first as { status?: number }).status !== 409) throw first;
      return (await register()).id;
    }
  } catch (cause) {
    const status = (cause as { status?: number }).status;
    // 409: the registry refused the schema as incompatible; 422: it is not a valid schema.
    // Both need a code change, not a retry.
    const deterministic = status === 409 || status === 422 || (cause as Error).name?.includes("Compatibility");
    throw new AppError(
      deterministic ? "schema_incompatible" : "schema_registry_unavailable",
      `registering the schema for subject "${subject}" failed: ${(cause as Error).message}`,
      { retriable: !deterministic, cause },
    );
  }
}
