import { AppError, type Logger } from "@sbs/shared";
import type { BrevoTransport } from "./adapters/brevo-transport.ts";
import { describeConflicts, planAttributes } from "./domain/attributes.ts";
import type { SinkConfig } from "./domain/sink-config.ts";

/**
 * Makes sure every mapped attribute exists in Brevo with the type our values have. Brevo drops
 * values of the wrong type without an error, so a type mismatch stops the sink at startup
 * rather than silently losing every value of that attribute.
 */
export async function bootstrapAttributes(
  transport: BrevoTransport,
  config: SinkConfig,
  logger: Logger,
): Promise<{ created: string[] }> {
  const plan = planAttributes(config.attributes, await transport.getAttributes());
  if (plan.conflicts.length > 0) {
    throw new AppError("brevo_attribute_type_conflict", `refusing to start: ${describeConflicts(plan)}`);
  }
  for (const a of plan.create) {
    await transport.createAttribute(a.name, a.type);
    logger.info({ attribute: a.name, type: a.type }, "created Brevo attribute");
  }
  return { created: plan.create.map((a) => a.name) };
}
