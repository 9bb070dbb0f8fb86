import { parseArgs } from "node:util";
import { endpointsFromEnv, stackStatus } from "@sbs/infra";
import { redrive } from "./redrive.ts";

export const redriveUsage = `usage: pnpm cli redrive [--topic T] [--dlq-topic D] [--dry-run] [--limit N]

Puts dead letters (the projector's <topic>.dlq) back on the topic they came from, with their
original key, value and headers plus redriven_from. Fix the cause first: a record that fails again
returns to the dead-letter topic. Progress is kept in the consumer group redrive.<dlq topic>, so
a second run only redrives what came since.

  --topic T       origin topic (default KAFKA_TOPIC, else stripe.events.test)
  --dlq-topic D   dead-letter topic (default <topic>.dlq)
  --dry-run       list what would be redriven, change nothing
  --limit N       at most N records`;

interface Io {
  out: (t: string) => void;
  err: (t: string) => void;
  env: Record<string, string | undefined>;
}

export async function runRedrive(argv: string[], io: Io): Promise<number> {
  let values: { topic?: string; "dlq-topic"?: string; "dry-run"?: boolean; limit?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        topic: { type: "string" },
        "dlq-topic": { type: "string" },
        "dry-run": { type: "boolean" },
        limit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    io.err(`error: ${(error as Error).message}\n\n${redriveUsage}\n`);
    return 2;
  }
  if (values.help) {
    io.out(`${redriveUsage}\n`);
    return 0;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    io.err(`error: --limit must be a positive whole number, got "${values.limit}"\n`);
    return 2;
  }
  const endpoints = endpointsFromEnv(io.env) ?? (await stackStatus(io.env)).endpoints;
  if (!endpoints) {
    io.err("error: no Kafka to talk to: set KAFKA_BROKERS (and the other stack variables) or run pnpm stack:up\n");
    return 1;
  }
  const topic = values.topic ?? io.env["KAFKA_TOPIC"] ?? "stripe.events.test";
  const result = await redrive({
    brokers: endpoints.kafkaBrokers,
    topic,
    dlqTopic: values["dlq-topic"] ?? `${topic}.dlq`,
    dryRun: values["dry-run"] === true,
    limit,
    say: (line) => io.err(`${line}\n`),
  });
  for (const l of result.listed) {
    io.out(`${l.originOffset}\t${l.errorClass}\t${l.message}\n`);
  }
  io.err(values["dry-run"] ? `dry run: ${result.listed.length} would be redriven\n` : `redriven ${result.redriven}\n`);
  return 0;
}
