import type { ClientBase } from "pg";

/** Bookkeeping that makes dead-lettering exactly once across retries, crashes and rebuilds. */

export interface DeadLetterRow {
  readonly offset: string;
  readonly state: "pending" | "sent";
  /** The record it holds (key and value hash); null for rows written before migration 0002. */
  readonly fingerprint: string | null;
  readonly dlqPartition: number;
  readonly dlqSearchFrom: string;
}

export async function deadLetterRows(
  db: Pick<ClientBase, "query">,
  topic: string,
  partition: number,
  offsets: readonly string[],
): Promise<Map<string, DeadLetterRow>> {
  if (offsets.length === 0) return new Map();
  const { rows } = await db.query<{
    offset: string;
    state: "pending" | "sent";
    dlq_partition: number;
    dlq_search_from: string;
    fingerprint: string | null;
  }>(
    `SELECT "offset", state, dlq_partition, dlq_search_from, fingerprint FROM dead_letter
     WHERE topic = $1 AND partition = $2 AND "offset" = ANY($3::bigint[])`,
    [topic, partition, offsets],
  );
  return new Map(
    rows.map((r) => [
      String(r.offset),
      {
        offset: String(r.offset),
        state: r.state,
        fingerprint: r.fingerprint,
        dlqPartition: r.dlq_partition,
        dlqSearchFrom: String(r.dlq_search_from),
      },
    ]),
  );
}

export interface PendingDeadLetter {
  readonly offset: string;
  readonly dlqTopic: string;
  readonly dlqPartition: number;
  /** The DLQ partition's end before publishing: the record, if it landed, is at or after it. */
  readonly dlqSearchFrom: string;
  readonly errorClass: string;
  readonly reason: string;
  readonly attempts: number;
  readonly fingerprint: string;
}

/**
 * Pending rows for letters about to be published. A row already there for the same offset but
 * another record (the topic was recreated and reused the offset) is replaced: that record is new.
 */
export async function recordPending(
  db: Pick<ClientBase, "query">,
  topic: string,
  partition: number,
  letters: readonly PendingDeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  await db.query(
    `INSERT INTO dead_letter (topic, partition, "offset", state, dlq_topic, dlq_partition, dlq_search_from, error_class, reason, attempts, fingerprint)
     SELECT $1, $2, x.offset, 'pending', x.dlq_topic, x.dlq_partition, x.dlq_search_from, x.error_class, x.reason, x.attempts, x.fingerprint
     FROM jsonb_to_recordset($3::jsonb) AS x("offset" bigint, dlq_topic text, dlq_partition integer,
       dlq_search_from bigint, error_class text, reason text, attempts integer, fingerprint text)
     ON CONFLICT (topic, partition, "offset") DO UPDATE SET
       state = 'pending', dlq_topic = EXCLUDED.dlq_topic, dlq_partition = EXCLUDED.dlq_partition,
       dlq_search_from = EXCLUDED.dlq_search_from, dlq_offset = NULL, error_class = EXCLUDED.error_class,
       reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, fingerprint = EXCLUDED.fingerprint,
       created_at = now(), sent_at = NULL
     WHERE dead_letter.fingerprint IS DISTINCT FROM EXCLUDED.fingerprint`,
    [
      topic,
      partition,
      JSON.stringify(
        letters.map((l) => ({
          offset: l.offset,
          dlq_topic: l.dlqTopic,
          dlq_partition: l.dlqPartition,
          dlq_search_from: l.dlqSearchFrom,
          error_class: l.errorClass,
          reason: l.reason,
          attempts: l.attempts,
          fingerprint: l.fingerprint,
        })),
      ),
    ],
  );
}

export async function markSent(
  db: Pick<ClientBase, "query">,
  topic: string,
  partition: number,
  sent: readonly { offset: string; dlqOffset: string | null }[],
): Promise<void> {
  if (sent.length === 0) return;
  await db.query(
    `UPDATE dead_letter d SET state = 'sent', dlq_offset = COALESCE(x.dlq_offset, d.dlq_offset), sent_at = now()
     FROM jsonb_to_recordset($3::jsonb) AS x("offset" bigint, dlq_offset bigint)
     WHERE d.topic = $1 AND d.partition = $2 AND d."offset" = x."offset" AND d.state = 'pending'`,
    [topic, partition, JSON.stringify(sent.map((s) => ({ offset: s.offset, dlq_offset: s.dlqOffset })))],
  );
}
