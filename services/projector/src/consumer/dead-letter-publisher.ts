import { randomUUID } from "node:crypto";
import { AppError, type Logger } from "@sbs/shared";
import type { IHeaders, Kafka, Producer } from "kafkajs";
import type { Pool } from "pg";
import { deadLetterRows, markSent, type PendingDeadLetter, recordPending } from "../store/dead-letters.ts";
import { deadLetterHeaders, deadLetterKey } from "./dead-letter-headers.ts";
import type { Poison } from "./decode-record.ts";
import { recordFingerprint } from "./record-fingerprint.ts";

export interface DeadLetterInput extends Poison {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders | undefined;
  readonly attempts: number;
}

/**
 * Publishes poison records to `<topic>.dlq` exactly once (pattern 4). Per record: a `pending` row
 * is committed first, then the record is produced with acks=-1 and the ack awaited, then the row
 * is marked `sent`; the caller advances the stored offset afterwards. A row found `sent` is not
 * published again (a retried batch, a rebuild); a row left `pending` by a crash is resolved by
 * looking for the record's unique key in the DLQ partition before publishing. Rows name the record
 * by its fingerprint: after a topic was recreated, new poison at a reused offset is published.
 */
export function createDeadLetterPublisher(deps: {
  kafka: Kafka;
  producer: Producer;
  pool: Pool;
  dlqTopic: (topic: string) => string;
  dlqPartitions: (dlqTopic: string) => Promise<number>;
  logger: Logger;
}) {
  const log = deps.logger.child({ component: "dead-letters" });

  const endOffset = async (topic: string, partition: number): Promise<string> => {
    const admin = deps.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.find((o) => o.partition === partition)?.high ?? "0";
    } finally {
      await admin.disconnect();
    }
  };

  /** Reads the DLQ partition from `from` to its end looking for `key` (only after a crash). */
  const alreadyPublished = async (topic: string, partition: number, from: string, key: string): Promise<boolean> => {
    const end = BigInt(await endOffset(topic, partition));
    if (end <= BigInt(from)) return false;
    const consumer = deps.kafka.consumer({ groupId: `projector-dlq-check-${randomUUID()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      return await new Promise<boolean>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ partition: p, message }) => {
              if (p !== partition) return;
              if (message.key?.toString() === key) resolve(true);
              else if (BigInt(message.offset) + 1n >= end) resolve(false);
            },
          })
          .then(() => consumer.seek({ topic, partition, offset: from }), reject);
      });
    } finally {
      await consumer.disconnect();
    }
  };

  return {
    /** Resolves once every letter is in the DLQ topic (acknowledged) and marked sent in Postgres. */
    async publish(topic: string, partition: number, letters: readonly DeadLetterInput[]): Promise<void> {
      if (letters.length === 0) return;
      const dlqTopic = deps.dlqTopic(topic);
      const dlqPartition = partition % (await deps.dlqPartitions(dlqTopic));
      const known = await deadLetterRows(
        deps.pool,
        topic,
        partition,
        letters.map((l) => l.offset),
      );
      const toSend: (DeadLetterInput & { readonly fingerprint: string })[] = [];
      const resolved: { offset: string; dlqOffset: string | null }[] = [];
      for (const letter of letters) {
        const fingerprint = recordFingerprint(letter.key, letter.value);
        const stored = known.get(letter.offset);
        // A row for this offset about another record (a recreated topic reused the offset) is not this letter's.
        const row = stored && (stored.fingerprint === null || stored.fingerprint === fingerprint) ? stored : undefined;
        if (row?.state === "sent") continue;
        if (row?.state === "pending") {
          const key = deadLetterKey(topic, partition, letter.offset);
          if (await alreadyPublished(dlqTopic, row.dlqPartition, row.dlqSearchFrom, key)) {
            resolved.push({ offset: letter.offset, dlqOffset: null });
            continue;
          }
        }
        toSend.push({ ...letter, fingerprint });
      }
      if (toSend.length > 0) {
        const searchFrom = await endOffset(dlqTopic, dlqPartition);
        const pending: PendingDeadLetter[] = toSend.map((l) => ({
          offset: l.offset,
          dlqTopic,
          dlqPartition,
          dlqSearchFrom: searchFrom,
          errorClass: l.errorClass,
          reason: l.reason,
          attempts: l.attempts,
          fingerprint: l.fingerprint,
        }));
        await recordPending(deps.pool, topic, partition, pending);
        try {
          const [meta] = await deps.producer.send({
            topic: dlqTopic,
            acks: -1,
            messages: toSend.map((l) => ({
              partition: dlqPartition,
              key: deadLetterKey(topic, partition, l.offset),
              value: l.value,
              headers: deadLetterHeaders(l.headers, { topic, partition, offset: l.offset, key: l.key }, l),
            })),
          });
          const base = meta?.baseOffset === undefined ? null : BigInt(meta.baseOffset);
          toSend.forEach((l, i) => {
            resolved.push({ offset: l.offset, dlqOffset: base === null ? null : String(base + BigInt(i)) });
          });
        } catch (cause) {
          throw new AppError("dlq_unavailable", `publishing ${toSend.length} dead letters failed`, {
            retriable: true,
            cause,
          });
        }
        for (const l of toSend) {
          log.warn(
            { topic, partition, offset: l.offset, errorClass: l.errorClass, attempts: l.attempts },
            "dead-lettered",
          );
        }
      }
      await markSent(deps.pool, topic, partition, resolved);
    },
  };
}

export type DeadLetterPublisher = ReturnType<typeof createDeadLetterPublisher>;
