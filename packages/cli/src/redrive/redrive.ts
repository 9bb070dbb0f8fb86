import { DLQ_HEADER } from "@sbs/projector/dead-letter-headers";
import { type IHeaders, Kafka, type KafkaMessage, logLevel, Partitioners } from "kafkajs";

/**
 * `pnpm cli redrive`: puts dead letters back on the topic they came from, after the cause was
 * fixed (a deploy that handles the event, a repaired schema). Each record goes back with its
 * original key, value and headers plus `redriven_from`; its DLQ offset is committed (consumer
 * group `redrive.<dlq topic>`) only after the origin topic acknowledged it, so a crash re-sends,
 * never loses. It stops at the DLQ's end as of the start: records dead-lettered while it runs wait
 * for the next redrive. A record that fails again simply returns to the DLQ.
 */

export interface RedriveOptions {
  brokers: string[];
  topic: string;
  dlqTopic: string;
  dryRun: boolean;
  limit: number | undefined;
  say: (line: string) => void;
}

export interface RedriveResult {
  redriven: number;
  listed: { partition: number; offset: string; originOffset: string; errorClass: string; message: string }[];
}

const header = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? String(value[0]) : String(value);
};

/** The original headers: everything but what the dead-lettering added. */
function originalHeaders(headers: IHeaders | undefined): IHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !name.startsWith("dlq.")));
}

export async function redrive(opts: RedriveOptions): Promise<RedriveResult> {
  const kafka = new Kafka({ brokers: opts.brokers, clientId: "redrive", logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const result: RedriveResult = { redriven: 0, listed: [] };
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(opts.dlqTopic)) {
      opts.say(`no dead-letter topic ${opts.dlqTopic}: nothing to redrive`);
      return result;
    }
    const groupId = `redrive.${opts.dlqTopic}`;
    const ends = new Map((await admin.fetchTopicOffsets(opts.dlqTopic)).map((p) => [p.partition, BigInt(p.high)]));
    const committed = await admin.fetchOffsets({ groupId, topics: [opts.dlqTopic] });
    const starts = new Map(
      (committed[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset) < 0n ? 0n : BigInt(p.offset)]),
    );
    const pending = [...ends].reduce((n, [p, end]) => n + Number(end - (starts.get(p) ?? 0n)), 0);
    opts.say(`${pending} dead letter(s) in ${opts.dlqTopic} not yet redriven`);
    if (pending === 0) return result;

    // A dry run reads under a throwaway group, so it neither commits nor moves the real position.
    const consumer = kafka.consumer({
      groupId: opts.dryRun ? `${groupId}.dry-run.${Date.now()}` : groupId,
      allowAutoTopicCreation: false,
    });
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await Promise.all([consumer.connect(), opts.dryRun ? undefined : producer.connect()]);
    const done = new Map([...ends].map(([p, end]) => [p, (starts.get(p) ?? 0n) >= end]));
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const limitReached = () => opts.limit !== undefined && result.listed.length >= opts.limit;
    try {
      await consumer.subscribe({ topic: opts.dlqTopic, fromBeginning: true });
      consumer.on(consumer.events.GROUP_JOIN, () => {
        // Resume from the redrive group's position (a dry run starts where the real one stands).
        for (const [partition, offset] of starts)
          consumer.seek({ topic: opts.dlqTopic, partition, offset: offset.toString() });
      });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }: { partition: number; message: KafkaMessage }) => {
          const end = ends.get(partition) ?? 0n;
          if (BigInt(message.offset) >= end || limitReached()) {
            done.set(partition, true);
          } else {
            await handle(partition, message);
            if (BigInt(message.offset) + 1n >= end) done.set(partition, true);
          }
          if ([...done.values()].every(Boolean) || limitReached()) finish();
        },
      });
      if ([...done.values()].every(Boolean)) finish();
      await finished;
    } finally {
      await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    }

    async function handle(partition: number, message: KafkaMessage) {
      const origin = header(message.headers, DLQ_HEADER.topic) ?? opts.topic;
      const listed = {
        partition,
        offset: message.offset,
        originOffset: `${origin}:${header(message.headers, DLQ_HEADER.partition)}@${header(message.headers, DLQ_HEADER.offset)}`,
        errorClass: header(message.headers, DLQ_HEADER.errorClass) ?? "?",
        message: header(message.headers, DLQ_HEADER.message) ?? "",
      };
      result.listed.push(listed);
      if (opts.dryRun) return;
      if (origin !== opts.topic)
        throw new Error(`dead letter ${partition}@${message.offset} came from ${origin}, not ${opts.topic}`);
      const key = header(message.headers, DLQ_HEADER.key);
      await producer.send({
        topic: origin,
        acks: -1,
        messages: [
          {
            ...(key === undefined ? {} : { key }),
            value: message.value,
            headers: {
              ...originalHeaders(message.headers),
              redriven_from: `${opts.dlqTopic}:${partition}@${message.offset}`,
            },
          },
        ],
      });
      await consumer.commitOffsets([
        { topic: opts.dlqTopic, partition, offset: (BigInt(message.offset) + 1n).toString() },
      ]);
      result.redriven++;
      opts.say(`redriven ${listed.originOffset} (${listed.errorClass})`);
    }
  } finally {
    await admin.disconnect();
  }
  return result;
}
