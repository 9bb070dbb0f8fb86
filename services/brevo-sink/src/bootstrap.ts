import { AppError, isRetriable, type Logger } from "@sbs/shared";
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

/**
 * bootstrapAttributes at startup, waiting for Brevo while it is unreachable (timeouts, 5xx, 429
 * past the transport's own retries): a Brevo outage at the moment the sink starts is not a reason
 * to exit (the chaos soak saw sinks exit and be restarted in a loop during an injected timeout).
 * What Brevo refused for good (a type conflict, a 401) still stops the start at once.
 */
export async function bootstrapWhenReachable(
  transport: BrevoTransport,
  config: SinkConfig,
  logger: Logger,
  options: {
    readonly sleep?: (ms: number) => Promise<void>;
    readonly firstDelayMs?: number;
    readonly maxDelayMs?: number;
  } = {},
): Promise<{ created: string[] }> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  for (let attempt = 1, delay = options.firstDelayMs ?? 1000; ; attempt++, delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await bootstrapAttributes(transport, config, logger);
    } catch (error) {
      if (!isRetriable(error)) throw error;
      logger.warn({ err: error, attempt, retryInMs: delay }, "Brevo unreachable at startup: retrying before starting");
      await sleep(delay);
    }
  }
}
