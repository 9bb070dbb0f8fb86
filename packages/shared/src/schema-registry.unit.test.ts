import { describe, expect, it } from "vitest";
import { AppError } from "./errors.ts";
import { registerAvroSchema, type SchemaRegistry } from "./schema-registry.ts";

const schema = { type: "record", name: "T", fields: [{ name: "id", type: "string" }] };

/** A registry whose `register` answers with the given outcomes, one per call (the last repeats). */
function registryAnswering(...outcomes: (number | Error)[]) {
  let calls = 0;
  const registry = {
    async register() {
      const outcome = outcomes[Math.min(calls++, outcomes.length - 1)];
      if (outcome instanceof Error) throw outcome;
      return { id: outcome };
    },
  } as unknown as SchemaRegistry;
  return { registry, calls: () => calls };
}

const withStatus = (status: number, message: string) => Object.assign(new Error(message), { status });
const compatibility = (level: string) =>
  Object.assign(new Error(`Compatibility does not match the configuration (BACKWARD != ${level})`), {
    name: "ConfluentSchemaRegistryCompatibilityError",
  });

describe("registerAvroSchema when another process registers the same new subject", () => {
  it("tries again while the subject's compatibility reads NONE or its rule is being created", async () => {
    const r = registryAnswering(
      compatibility("NONE"),
      withStatus(409, "A rule named 'COMPATIBILITY' already exists"),
      7,
    );
    expect(await registerAvroSchema(r.registry, "s-value", schema)).toBe(7);
    expect(r.calls()).toBe(3);
  });

  it("reports a lasting 409 as an incompatible schema after a few attempts", async () => {
    const r = registryAnswering(withStatus(409, "Schema being registered is incompatible"));
    const error = await registerAvroSchema(r.registry, "s-value", schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: "schema_incompatible", retriable: false });
    expect(r.calls()).toBe(5);
  });

  it("does not retry a subject configured with another compatibility, nor a registry that is down", async () => {
    const forward = registryAnswering(compatibility("FORWARD"));
    await expect(registerAvroSchema(forward.registry, "s-value", schema)).rejects.toMatchObject({
      code: "schema_incompatible",
    });
    expect(forward.calls()).toBe(1);
    const down = registryAnswering(withStatus(503, "unavailable"));
    await expect(registerAvroSchema(down.registry, "s-value", schema)).rejects.toMatchObject({
      code: "schema_registry_unavailable",
      retriable: true,
    });
    expect(down.calls()).toBe(1);
  });
});
