import { parseArgs } from "node:util";
import { runRebuild } from "@sbs/projector/commands";
import { loadProjectorConfig } from "@sbs/projector/config";
import { createRuntime } from "@sbs/projector/runtime";
import { createLogger, createSchemaRegistry } from "@sbs/shared";
import { compactedName, compactLog } from "./compact.ts";
import { envelopePayload } from "./payload.ts";

export const COMPACT_LOG_USAGE = `usage: pnpm cli compact-log [--dry-run] [--target TOPIC] [--no-rebuild] [--progress-interval S]

Removes erased people (\`pnpm cli erase\`) from the event log itself: copies KAFKA_TOPIC into a new
topic (default <topic>.c<YYYYMMDDHHMM>) without the records whose key names an erased customer
or whose event names an erased customer or object, then rebuilds the projection from the new topic
and switches to it. Meant to run batched (e.g. weekly; GDPR allows a month), not per request.
--dry-run counts what would go and writes nothing.

Afterwards, point the services at the new topic and restart them: KAFKA_TOPIC_TEST (or _LIVE) for
ingest, KAFKA_TOPIC for the projector, SINK_EVENTS_TOPIC for the sink; then delete the old topic
(and its .dlq, whose dead letters may hold the same events). Stop ingest while this runs (Stripe
retries webhooks answered 503 for three days), or records appended meanwhile stay in the old topic.
Environment: as the projector (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL, KAFKA_TOPIC…).`;

export async function runCompactLog(
  argv: readonly string[],
  io: { out: (t: string) => void; err: (t: string) => void; env: Record<string, string | undefined> },
): Promise<number> {
  let values: {
    "dry-run"?: boolean;
    target?: string;
    "no-rebuild"?: boolean;
    "progress-interval"?: string;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        "dry-run": { type: "boolean" },
        target: { type: "string" },
        "no-rebuild": { type: "boolean" },
        "progress-interval": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${COMPACT_LOG_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${COMPACT_LOG_USAGE}\n`);
    return 0;
  }
  const interval = Number(values["progress-interval"] ?? 5);
  if (!Number.isFinite(interval) || interval <= 0) {
    io.err("error: --progress-interval: expected a positive number of seconds\n");
    return 2;
  }
  const config = loadProjectorConfig(io.env);
  const logger = createLogger({ service: "compact-log", level: config.logLevel === "info" ? "warn" : config.logLevel });
  const say = (line: string) => io.err(`compact-log: ${line}\n`);
  const source = config.kafka.topic;
  const target = values.target ?? compactedName(source, new Date());
  if (target === source) {
    io.err("error: --target must differ from KAFKA_TOPIC\n");
    return 2;
  }
  const runtime = createRuntime(config, { logger }, "compact-log");
  const startedAt = new Date();
  let report: Awaited<ReturnType<typeof compactLog>>;
  try {
    await runtime.open();
    if (runtime.erasures.empty) say("the erasure list is empty: the copy would equal the topic");
    report = await compactLog(
      {
        source,
        target,
        dryRun: values["dry-run"] ?? false,
        progressIntervalMs: interval * 1000,
        replicationFactor: config.kafka.replicationFactor,
        groupId: `compact-log-${startedAt.getTime()}`,
      },
      {
        kafka: runtime.kafka,
        payloadOf: envelopePayload(createSchemaRegistry(config.schemaRegistryUrl)),
        erased: runtime.erasures,
        logger,
        say,
      },
    );
    if (!report.target) {
      say(`dry run: ${report.droppedByKey + report.droppedByEvent} of ${report.records} records would go`);
      io.out(`${JSON.stringify(report)}\n`);
      return 0;
    }
    await runtime.pool.query(
      "UPDATE erasure_request SET compacted_at = now(), compacted_into = $1 WHERE compacted_at IS NULL AND requested_at <= $2",
      [report.target, startedAt],
    );
  } finally {
    await runtime.close();
  }
  say(
    `copied ${report.kept} of ${report.records} records into ${report.target} in ${report.seconds.toFixed(1)} s (${report.droppedByKey} dropped by key, ${report.droppedByEvent} by event)`,
  );
  let rebuilt: Awaited<ReturnType<typeof runRebuild>> | undefined;
  if (!values["no-rebuild"]) {
    rebuilt = await runRebuild(
      { fresh: true, switch: true, progressIntervalMs: interval * 1000 },
      {
        config: { ...config, kafka: { ...config.kafka, topic: report.target } },
        logger,
        err: { write: (t) => io.err(t) },
      },
    );
  }
  say(
    `now restart the services on ${report.target}: KAFKA_TOPIC_${source.includes(".live") ? "LIVE" : "TEST"}=${report.target} (ingest), KAFKA_TOPIC=${report.target} (projector), SINK_EVENTS_TOPIC=${report.target} (sink); then delete ${source} and ${config.kafka.dlqTopic}`,
  );
  io.out(`${JSON.stringify({ ...report, rebuild: rebuilt ?? null })}\n`);
  return 0;
}
