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
  const created: string[] = [];
  for (const a of plan.create) {
    try {
      await transport.createAttribute(a.name, a.type);
    } catch (error) {
      // Another sink instance starting at the same moment may have created it between our read and
      // our create (Brevo: 400 "Attribute name must be unique"). That is the goal reached, as long
      // as it now exists with our type; anything else is still an error.
      const again = planAttributes(config.attributes, await transport.getAttributes());
      if (again.conflicts.length > 0)
        throw new AppError("brevo_attribute_type_conflict", `refusing to start: ${describeConflicts(again)}`);
      if (again.create.some((c) => c.name === a.name)) throw error;
      logger.info({ attribute: a.name }, "Brevo attribute created meanwhile by another instance");
      continue;
    }
    created.push(a.name);
    logger.info({ attribute: a.name, type: a.type }, "created Brevo attribute");
  }
  return { created };
}
