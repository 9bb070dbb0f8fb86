import { z } from "zod";
import { AppError } from "./errors.ts";

type Env = Record<string, string | undefined>;

/**
 * Parses a service's environment once, at startup, against its zod schema. Every problem is
 * reported together, naming the variable and how to fix it, so a misconfigured deploy fails
 * with one message rather than one fix-and-retry loop per variable.
 */
export function loadConfig<S extends z.ZodType>(service: string, schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(service, result.error);
}

export class ConfigError extends AppError {
  readonly problems: string[];
  constructor(service: string, error: z.ZodError) {
    const problems = error.issues.map((issue) => `  - ${describePath(issue.path)}: ${issue.message}`);
    super(
      "config_invalid",
      `${service}: invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.join("\n")}`,
    );
    this.problems = problems;
  }
}

/** `["KAFKA_BROKERS", 1]` -> "KAFKA_BROKERS (entry 2)": name the variable a person sets. */
function describePath(path: PropertyKey[]): string {
  const [variable, ...rest] = path;
  if (variable === undefined) return "(environment)";
  const entries = rest.filter((p) => typeof p === "number").map((i) => `entry ${i + 1}`);
  return entries.length > 0 ? `${String(variable)} (${entries.join(", ")})` : String(variable);
}

const positiveInt = () =>
  z.coerce.number({ error: "must be a number" }).int().positive({ error: "must be a positive integer" });

/** Building blocks for service schemas; each error message says what a valid value looks like. */
export const env = {
  /** `host:port[,host:port…]` */
  brokers: () =>
    z
      .string({ error: "required: Kafka bootstrap servers as host:port[,host:port…]" })
      .transform((s) =>
        s
          .split(",")
          .map((b) => b.trim())
          .filter(Boolean),
      )
      .pipe(
        z
          .array(z.string().regex(/^[^:\s]+:\d{1,5}$/, { error: "each broker must look like host:port" }))
          .min(1, { error: "at least one broker is required (host:port)" }),
      ),
  url: (what: string) =>
    z.url({ error: (issue) => (issue.input === undefined ? `required: ${what}` : `not a URL: ${what}`) }),
  postgresUrl: () =>
    z
      .string({ error: "required: PostgreSQL connection URL (postgres://user[:password]@host:port/database)" })
      .regex(/^postgres(ql)?:\/\//, { error: "must start with postgres:// or postgresql://" }),
  port: (fallback: number) =>
    z.coerce
      .number({ error: "must be a TCP port number" })
      .int()
      .min(0)
      .max(65535, { error: "must be a TCP port (0-65535)" })
      .default(fallback),
  positiveInt: (fallback: number) => positiveInt().default(fallback),
  /** Unset stays undefined: the caller derives the default from other variables. */
  optionalPositiveInt: () => positiveInt().optional(),
  /** "true"/"false"/"1"/"0"/"yes"/"no"; z.coerce.boolean would turn "false" into true. */
  bool: (fallback: boolean) => z.stringbool().default(fallback),
  logLevel: () => z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  secret: (what: string) => z.string({ error: `required: ${what}` }).min(1, { error: `required: ${what}` }),
};

/** The variables every service shares: where the stack is and how loudly to log. */
export const stackEnvSchema = z.object({
  KAFKA_BROKERS: env.brokers(),
  SCHEMA_REGISTRY_URL: env.url("schema registry base URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7"),
  DATABASE_URL: env.postgresUrl(),
  LOG_LEVEL: env.logLevel(),
});
