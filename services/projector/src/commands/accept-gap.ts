import { parseArgs } from "node:util";
import { createKafka, createLogger, createPool, inTransaction } from "@sbs/shared";
import { loadProjectorConfig } from "../config.ts";
import { clearHalts, halts, recordGap } from "../store/partition-state.ts";
import { livePointer } from "../store/positions.ts";
import type { Command } from "./command.ts";

const usage = `usage: pnpm cli accept-gap --partition <n> [--topic <name>]

A partition halts when records it has not applied were deleted from the log (retention, or
deleteRecords): the projection can no longer be the fold of the whole history. This command
accepts that knowingly: it records the skipped offsets in offset_gap, moves the live generation's
position to the partition's log start and clears the halt; the running projector resumes it
within SUPERVISE_INTERVAL_MS. The alternative is \`pnpm cli rebuild\` (the fold of the log as it
is now). Halts of another kind (the topic was recreated, another cluster) are refused: rebuild.
Environment: as the projector (KAFKA_BROKERS, DATABASE_URL, KAFKA_TOPIC…).`;

export const acceptGapCommand: Command = {
  summary: "Skip offsets deleted from the log (a halted partition), recording the gap",
  usage,
  async run(argv, deps) {
    let values: { partition?: string; topic?: string; help?: boolean };
    try {
      values = parseArgs({
        args: [...argv],
        options: { partition: { type: "string" }, topic: { type: "string" }, help: { type: "boolean", short: "h" } },
        strict: true,
        allowPositionals: false,
      }).values;
    } catch (error) {
      deps.err.write(`error: ${(error as Error).message}\n\n${usage}\n`);
      return 2;
    }
    if (values.help) {
      deps.out.write(`${usage}\n`);
      return 0;
    }
    const partition = Number(values.partition);
    if (values.partition === undefined || !Number.isInteger(partition) || partition < 0) {
      deps.err.write(`error: --partition: expected a partition number\n\n${usage}\n`);
      return 2;
    }
    const config = loadProjectorConfig(deps.env);
    const topic = values.topic ?? config.kafka.topic;
    const logger = createLogger({ service: "projector-accept-gap", level: config.logLevel });
    const pool = createPool({
      url: config.database.url,
      ...(config.database.schema ? { schema: config.database.schema } : {}),
      applicationName: "projector-accept-gap",
    });
    const admin = createKafka({ brokers: config.kafka.brokers, clientId: "projector-accept-gap", logger }).admin();
    try {
      const generation = await livePointer(pool);
      const halt = (await halts(pool, generation, topic)).find((h) => h.partition === partition);
      if (halt === undefined) {
        deps.err.write(`${topic}[${partition}] is not halted in generation ${generation}: nothing to accept\n`);
        return 1;
      }
      if (halt.reason !== "below_log_start") {
        deps.err.write(`${topic}[${partition}] is halted for another reason (${halt.reason}): ${halt.detail}\n`);
        return 1;
      }
      await admin.connect();
      const low = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition)?.low;
      if (low === undefined) {
        deps.err.write(`${topic} has no partition ${partition}\n`);
        return 1;
      }
      const from = await inTransaction(pool, async (client) => {
        const { rows } = await client.query<{ next_offset: string }>(
          `SELECT next_offset FROM processed_offset WHERE generation = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
          [generation, topic, partition],
        );
        const stored = BigInt(rows[0]?.next_offset ?? 0);
        const to = BigInt(low);
        if (to > stored) {
          await recordGap(client, { generation, topic, partition }, stored, to - 1n, "accepted: deleted from the log");
          await client.query(
            `INSERT INTO processed_offset (generation, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
             ON CONFLICT (generation, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset,
               last_offset = NULL, last_fingerprint = NULL, updated_at = now()`,
            [generation, topic, partition, to.toString()],
          );
        }
        await clearHalts(client, { generation, topic }, [partition]);
        return stored;
      });
      deps.out.write(
        `${topic}[${partition}]: offsets ${from}..${BigInt(low) - 1n} accepted as a gap (offset_gap); generation ${generation} continues at ${low}\n`,
      );
      return 0;
    } finally {
      await admin.disconnect().catch(() => {});
      await pool.end().catch(() => {});
    }
  },
};
