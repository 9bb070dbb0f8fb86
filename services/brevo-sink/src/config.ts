import { env, loadConfig } from "@sbs/shared";
import { z } from "zod";

/** The sink's environment; the mapping, lists and events live in the YAML file SINK_CONFIG_FILE names. */
const schema = z
  .object({
    DATABASE_URL: env.postgresUrl(),
    // Tests and side-by-side deployments keep their tables in their own schema.
    DATABASE_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .optional(),
    // Schema of the projector's `customer_metrics` view when it is not on the sink's search_path
    // (the sink's tables in a schema of their own); default: found through the search_path.
    // Apply the sink's migrations at start: only when DATABASE_URL is the owner's (a DML-only
    // service role cannot, and should not; run `pnpm cli migrate` as the owner instead).
    MIGRATE_ON_START: env.bool(true),
    PROJECTION_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/)
      .optional(),
    LOG_LEVEL: env.logLevel(),
    BREVO_API_KEY: env.secret("a Brevo API key (xkeysib-…) with contacts and events permissions"),
    BREVO_BASE_URL: env.url("Brevo API base URL").default("https://api.brevo.com/v3"),
    SINK_CONFIG_FILE: z.string().default("sink.yaml"),
    // General plans allow 10/s and 36,000/h on /contacts and /events; stay below both.
    BREVO_RATE_PER_SECOND: env.positiveInt(8),
    BREVO_RATE_PER_HOUR: env.positiveInt(32_000),
    // 5xx/408/425/network: attempts before a run gives up (its cursor stays, the next run redoes it).
    BREVO_MAX_ATTEMPTS: env.positiveInt(6),
    BREVO_TIMEOUT_S: env.positiveInt(30),
    // A page with at least this many changed contacts goes through /contacts/import.
    SINK_BULK_THRESHOLD: env.positiveInt(200),
    SINK_PAGE_SIZE: env.positiveInt(5000),
    SINK_CONCURRENCY: env.positiveInt(8),
    SINK_INTERVAL_MS: env.positiveInt(10_000),
    // A full diff now and then catches what a change cursor cannot see (a rebuilt generation
    // switched in with older stamps); unchanged customers cost a read, no Brevo call.
    SINK_RESYNC_EVERY_MS: env.positiveInt(6 * 3600_000),
    // Brevo caps an import body at 10 MB and recommends ~8 MB.
    SINK_IMPORT_MAX_BYTES: env.positiveInt(8 * 1024 * 1024),
    SHUTDOWN_TIMEOUT_MS: env.positiveInt(15_000),
    // After a fatal Brevo error (401/402/403, a 4xx on import/process/list calls) the lead is released
    // at once; then either exit 1 (the supervisor restarts it) or stay off the lead for a backoff
    // that doubles per consecutive fatal pass (first / max).
    SINK_EXIT_ON_FATAL: env.bool(false),
    SINK_FATAL_BACKOFF_MS: env.positiveInt(60_000),
    SINK_FATAL_BACKOFF_MAX_MS: env.positiveInt(3600_000),
    // The last `pnpm cli test-connection --brevo` found a relied-on behaviour false: refuse to start,
    // warn loudly at start (default), or do not look.
    SINK_SELF_TEST: z.enum(["refuse", "warn", "off"]).default("warn"),
    // Scheduled drift check by the leader: SINK_VERIFY_SAMPLE contacts read back from Brevo every
    // SINK_VERIFY_EVERY_MS (so a wrong assumption shows within a day); 0 contacts turns it off.
    SINK_VERIFY_SAMPLE: z.coerce.number().int().min(0).default(50),
    SINK_VERIFY_EVERY_MS: env.positiveInt(12 * 3600_000),
    // /healthz (503 after a fatal error) and /metrics.
    // The sink's internal port (/healthz, /metrics): loopback unless exposed on purpose.
    HTTP_HOST: z.string().default("127.0.0.1"),
    HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(9466),
    // Custom events from a `customer_events` relation (pg-event-source.ts) instead of Kafka.
    SINK_EVENTS_FROM_DB: env.bool(false),
    // Custom events from ingest's event log (the default when KAFKA_BROKERS is set).
    KAFKA_BROKERS: env.brokers().optional(),
    SCHEMA_REGISTRY_URL: env.url("schema registry base URL, e.g. http://127.0.0.1:8081/apis/ccompat/v7").optional(),
    // stripe.events.live for a live-mode deployment: test and live events never share a topic.
    SINK_EVENTS_TOPIC: z
      .string()
      .regex(/^[a-zA-Z0-9._-]{1,249}$/, "must be a Kafka topic name")
      .default("stripe.events.test"),
    SINK_EVENTS_GROUP_ID: z.string().min(1).default("brevo-sink-events"),
    // How long an event waits for its customer's contact to be pushed (after ingest received it).
    SINK_EVENT_CONTACT_WAIT_MS: z.coerce.number().int().min(0).default(120_000),
  })
  .refine((e) => e.KAFKA_BROKERS === undefined || e.SCHEMA_REGISTRY_URL !== undefined, {
    message: "required with KAFKA_BROKERS: schema registry base URL",
    path: ["SCHEMA_REGISTRY_URL"],
  })
  .transform((e) => ({
    databaseUrl: e.DATABASE_URL,
    databaseSchema: e.DATABASE_SCHEMA,
    migrateOnStart: e.MIGRATE_ON_START,
    projectionSchema: e.PROJECTION_SCHEMA,
    logLevel: e.LOG_LEVEL,
    configFile: e.SINK_CONFIG_FILE,
    brevo: {
      apiKey: e.BREVO_API_KEY,
      baseUrl: e.BREVO_BASE_URL,
      perSecond: e.BREVO_RATE_PER_SECOND,
      perHour: e.BREVO_RATE_PER_HOUR,
      maxAttempts: e.BREVO_MAX_ATTEMPTS,
      timeoutSeconds: e.BREVO_TIMEOUT_S,
    },
    sync: {
      bulkThreshold: e.SINK_BULK_THRESHOLD,
      pageSize: e.SINK_PAGE_SIZE,
      concurrency: e.SINK_CONCURRENCY,
      intervalMs: e.SINK_INTERVAL_MS,
      resyncEveryMs: e.SINK_RESYNC_EVERY_MS,
      importMaxBytes: e.SINK_IMPORT_MAX_BYTES,
      eventsFromDb: e.SINK_EVENTS_FROM_DB,
    },
    events: {
      kafka:
        e.KAFKA_BROKERS === undefined || e.SCHEMA_REGISTRY_URL === undefined
          ? undefined
          : {
              brokers: e.KAFKA_BROKERS,
              schemaRegistryUrl: e.SCHEMA_REGISTRY_URL,
              topic: e.SINK_EVENTS_TOPIC,
              groupId: e.SINK_EVENTS_GROUP_ID,
            },
      contactWaitMs: e.SINK_EVENT_CONTACT_WAIT_MS,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    fatal: {
      exit: e.SINK_EXIT_ON_FATAL,
      backoffMs: e.SINK_FATAL_BACKOFF_MS,
      backoffMaxMs: e.SINK_FATAL_BACKOFF_MAX_MS,
    },
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    selfTest: e.SINK_SELF_TEST,
    verify: { sample: e.SINK_VERIFY_SAMPLE, everyMs: e.SINK_VERIFY_EVERY_MS },
  }));

export type SinkEnvConfig = z.output<typeof schema>;

export function loadSinkEnv(environment: Record<string, string | undefined>): SinkEnvConfig {
  return loadConfig("brevo-sink", schema, environment);
}
