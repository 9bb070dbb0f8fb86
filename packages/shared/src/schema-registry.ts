import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { AppError } from "./errors.ts";

export { SchemaRegistry } from "@kafkajs/confluent-schema-registry";

export function createSchemaRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url });
}

const RACE_ATTEMPTS = 5;

/**
 * What another process registering the same new subject at the same moment looks like. The client
 * registers, then sets the subject's compatibility; in between, Apicurio reports the subject's
 * compatibility as NONE (the global default), and of two processes setting it, the second gets 409
 * "a rule named 'COMPATIBILITY' already exists". Both settle within moments, so these are retried
 * a few times; a real incompatibility (also 409) is still reported after the last attempt.
 */
const newSubjectRace = (error: unknown): boolean => {
  const e = error as { status?: number; name?: string; message?: string };
  if (e.status === 409) return true;
  return (e.name ?? "").includes("Compatibility") && /!= NONE\)/.test(e.message ?? "");
};

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
    for (let attempt = 1; ; attempt++) {
      try {
        return (await register()).id;
      } catch (error) {
        if (!newSubjectRace(error) || attempt >= RACE_ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt * (0.5 + Math.random())));
      }
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
