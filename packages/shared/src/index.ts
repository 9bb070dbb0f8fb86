export { writeFigure } from "./bench-figures.ts";
export { ConfigError, env, loadConfig, stackEnvSchema } from "./config.ts";
export { AppError, errorMessage, isRetriable } from "./errors.ts";
export {
  createInternalServer,
  createMetricsRegistry,
  type InternalServer,
  type InternalServerOptions,
  registerDefaultMetrics,
} from "./internal-server.ts";
export {
  createKafka,
  type EnsureTopicsOptions,
  ensureTopics,
  type KafkaClientConfig,
  MIN_DURABLE_REPLICATION,
  partitionCount,
  singleNodeFromEnv,
  type TopicOutcome,
  type TopicSpec,
} from "./kafka.ts";
export { createLogThrottle } from "./log-throttle.ts";
export { createLogger, type Logger, type LoggerConfig, REDACT_PATHS } from "./logger.ts";
export {
  type CheckedOutClient,
  checkout,
  createPool,
  inTransaction,
  type MigrationConfig,
  migrate,
  migrationsTableFor,
  type Pool,
  type PoolClient,
  type PoolConfig,
} from "./postgres.ts";
export { PLATFORM_ACCOUNT, partitionOfKey, recordKey } from "./record-key.ts";
export { REDACTED, redactDeep, redactString, serializeError } from "./redact.ts";
export { backoffDelay, type RetryOptions, retry } from "./retry.ts";
export { createSchemaRegistry, registerAvroSchema, SchemaRegistry } from "./schema-registry.ts";
export {
  createShutdown,
  EXIT_CLEAN,
  EXIT_UNCLEAN,
  onSignals,
  type Shutdown,
  type ShutdownOutcome,
} from "./shutdown.ts";
