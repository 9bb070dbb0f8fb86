import { type ErasedIds, rawIdsNamed } from "@sbs/projector/erasure";
import { ensureTopics, type Logger, partitionCount } from "@sbs/shared";
import { type Kafka, type Message, Partitioners } from "kafkajs";

/**
 * `pnpm cli compact-log`: copies the event topic into a new one without the erased people. A
 * record goes when its key names an erased customer (`<account>:<customer id>`, or the object id
 * for objects without a customer) or when its event names an erased customer or object (a dispute
 * is keyed by its own id; its charge is on the list). Everything else is copied as it is (key,
 * value, headers, timestamp) into the same partition, so per-key order and placement hold and
 * ingest's partitioner keeps agreeing with them. Records that do not decode are copied (they are
 * dead letters already; the key check still applies to them). The event is read for its ids only
 * (`rawIdsNamed`: Avro envelope, JSON, three fields), not validated as the projector does: that
 * is most of decoding's cost, and a superset of the ids is the safe side.
 */

export interface CompactOptions {
  readonly source: string;
  readonly target: string;
  readonly dryRun: boolean;
  readonly progressIntervalMs: number;
  readonly replicationFactor: number;
  readonly groupId: string;
}

export interface CompactDeps {
  readonly kafka: Kafka;
  /** The Stripe event JSON an envelope carries (the registry's Avro decoding); throws on bad bytes. */
  readonly payloadOf: (value: Buffer) => Promise<string>;
  readonly erased: ErasedIds;
  readonly logger: Logger;
  readonly say: (line: string) => void;
  readonly now?: () => number;
}

export interface CompactReport {
  readonly source: string;
  readonly target: string | null;
  readonly partitions: number;
  readonly records: number;
  readonly kept: number;
  readonly droppedByKey: number;
  readonly droppedByEvent: number;
  readonly undecodable: number;
  readonly seconds: number;
}

/** `platform:cus_123` -> `cus_123` (ingest's routing key, services/ingest/src/domain/routing.ts). */
export const keyId = (key: Buffer | null): string | undefined => {
  if (key === null) return undefined;
  const text = key.toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? text : text.slice(colon + 1);
};

/** Why a record goes, or undefined when it is copied. */
export async function verdict(
  message: Pick<Message, "key" | "value">,
  erased: ErasedIds,
  payloadOf: CompactDeps["payloadOf"],
): Promise<"key" | "event" | "undecodable" | undefined> {
  if (erased.empty) return undefined;
  const id = keyId((message.key as Buffer | null) ?? null);
  if (id !== undefined && erased.has(id)) return "key";
  let event: unknown;
  try {
    event = JSON.parse(await payloadOf(message.value as Buffer));
  } catch {
    return "undecodable";
  }
  return rawIdsNamed(event).some((named) => erased.has(named)) ? "event" : undefined;
}

/**
 * A produce request's records for one partition travel as one batch, which the broker refuses
 * above `message.max.bytes` (1 MiB by default): bench payloads of ~1.1 KB made 1000 records too
 * many. Batches are cut by bytes, well below it.
 */
const PRODUCE_MAX_BYTES = 512 * 1024;

export function byBytes(messages: readonly Message[], maxBytes = PRODUCE_MAX_BYTES): Message[][] {
  const chunks: Message[][] = [];
  let chunk: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = (m.value?.length ?? 0) + (m.key?.length ?? 0) + 64;
    if (chunk.length > 0 && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(m);
    bytes += size;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

export async function compactLog(opts: CompactOptions, deps: CompactDeps): Promise<CompactReport> {
  const now = deps.now ?? Date.now;
  const started = now();
  const admin = deps.kafka.admin();
  await admin.connect();
  const producer = deps.kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    const marks = await admin.fetchTopicOffsets(opts.source);
    const targets = new Map(marks.map((m) => [m.partition, BigInt(m.high)] as const));
    const positions = new Map(marks.map((m) => [m.partition, BigInt(m.low)] as const));
    const total = marks.reduce((n, m) => n + Number(BigInt(m.high) - BigInt(m.low)), 0);
    const partitions = marks.length;
    if (!opts.dryRun) {
      const existing = new Set(await admin.listTopics());
      if (existing.has(opts.target)) {
        const held = (await admin.fetchTopicOffsets(opts.target)).reduce((n, m) => n + Number(m.high), 0);
        if (held > 0) throw new Error(`${opts.target} exists and holds ${held} records: choose another --target`);
      }
      await ensureTopics(
        admin,
        [
          {
            topic: opts.target,
            numPartitions: partitions,
            replicationFactor: opts.replicationFactor,
            infiniteRetention: true,
          },
        ],
        deps.logger,
      );
      if ((await partitionCount(admin, opts.target)) !== partitions)
        throw new Error(`${opts.target} does not have ${partitions} partitions like ${opts.source}`);
      await producer.connect();
    }
    deps.say(
      `${opts.dryRun ? "dry run: counting" : "copying"} ${total} records of ${opts.source} (${partitions} partitions)${opts.dryRun ? "" : ` into ${opts.target}`}`,
    );
    let kept = 0;
    let droppedByKey = 0;
    let droppedByEvent = 0;
    let undecodable = 0;
    let lastPrint = now();
    const done = () => [...targets].every(([p, target]) => (positions.get(p) ?? 0n) >= target);
    const progress = () => {
      const read = kept + droppedByKey + droppedByEvent;
      const seconds = (now() - started) / 1000;
      deps.say(
        `${read}/${total} records, ${droppedByKey + droppedByEvent} dropped, ${Math.round(read / Math.max(seconds, 0.001))}/s`,
      );
    };

    if (!done()) {
      const consumer = deps.kafka.consumer({
        groupId: opts.groupId,
        allowAutoTopicCreation: false,
        maxBytesPerPartition: 16 * 2 ** 20,
      });
      let finished: () => void = () => {};
      let failed: (error: Error) => void = () => {};
      const finishedReading = new Promise<void>((resolve, reject) => {
        finished = resolve;
        failed = reject;
      });
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        for (const partition of payload.memberAssignment[opts.source] ?? [])
          consumer.seek({ topic: opts.source, partition, offset: (positions.get(partition) ?? 0n).toString() });
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) failed(payload.error);
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: opts.source, fromBeginning: true });
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            const partition = batch.partition;
            const target = targets.get(partition) ?? 0n;
            const at = positions.get(partition) ?? 0n;
            const out: Message[] = [];
            let next = at;
            for (const message of batch.messages) {
              const offset = BigInt(message.offset);
              resolveOffset(message.offset);
              if (offset < at || offset >= target) continue;
              next = offset + 1n;
              const why = await verdict(message, deps.erased, deps.payloadOf);
              if (why === "key") droppedByKey++;
              else if (why === "event") droppedByEvent++;
              else {
                if (why === "undecodable") undecodable++;
                kept++;
                out.push({
                  partition,
                  key: message.key,
                  value: message.value,
                  headers: message.headers ?? {},
                  timestamp: message.timestamp,
                });
              }
            }
            if (!opts.dryRun) {
              for (const messages of byBytes(out)) await producer.send({ topic: opts.target, acks: -1, messages });
            }
            positions.set(partition, next);
            await heartbeat();
            if (next >= target) consumer.pause([{ topic: opts.source, partitions: [partition] }]);
            if (now() - lastPrint >= opts.progressIntervalMs) {
              lastPrint = now();
              progress();
            }
            if (done()) finished();
          },
        });
        await finishedReading;
      } finally {
        await consumer.disconnect().catch(() => {});
      }
    }
    progress();
    if (!opts.dryRun) {
      const copied = (await admin.fetchTopicOffsets(opts.target)).reduce((n, m) => n + Number(m.high), 0);
      if (copied !== kept) throw new Error(`${opts.target} holds ${copied} records, ${kept} were copied`);
    }
    return {
      source: opts.source,
      target: opts.dryRun ? null : opts.target,
      partitions,
      records: total,
      kept,
      droppedByKey,
      droppedByEvent,
      undecodable,
      seconds: (now() - started) / 1000,
    };
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/** `stripe.events.test` -> `stripe.events.test.c202612020130` (an earlier suffix is replaced). */
export function compactedName(topic: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, "").slice(0, 12);
  return `${topic.replace(/\.c\d{12}$/, "")}.c${stamp}`;
}
