import type { ClientBase } from "pg";

/** Halted partitions and accepted gaps: what the projector refused to skip, and what an operator let it skip. */

export type HaltReason = "ahead_of_log" | "below_log_start" | "topic_identity";

export interface Halt {
  readonly topic: string;
  readonly partition: number;
  readonly reason: HaltReason;
  readonly detail: string;
  readonly since: Date;
}

type Db = Pick<ClientBase, "query">;

export async function recordHalt(
  db: Db,
  at: { generation: number; topic: string; partition: number },
  reason: HaltReason,
  detail: string,
): Promise<void> {
  await db.query(
    `INSERT INTO partition_halt (generation, topic, partition, reason, detail) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (generation, topic, partition) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail,
       since = CASE WHEN partition_halt.reason = EXCLUDED.reason THEN partition_halt.since ELSE now() END`,
    [at.generation, at.topic, at.partition, reason, detail],
  );
}

export async function halts(db: Db, generation: number, topic?: string): Promise<Halt[]> {
  const { rows } = await db.query<{
    topic: string;
    partition: number;
    reason: HaltReason;
    detail: string;
    since: Date;
  }>(
    `SELECT topic, partition, reason, detail, since FROM partition_halt
     WHERE generation = $1 AND ($2::text IS NULL OR topic = $2) ORDER BY topic, partition`,
    [generation, topic ?? null],
  );
  return rows;
}

export async function clearHalts(db: Db, at: { generation: number; topic: string }, partitions: readonly number[]) {
  if (partitions.length === 0) return;
  await db.query("DELETE FROM partition_halt WHERE generation = $1 AND topic = $2 AND partition = ANY($3::int[])", [
    at.generation,
    at.topic,
    partitions,
  ]);
}

export async function recordGap(
  db: Db,
  at: { generation: number; topic: string; partition: number },
  from: bigint,
  to: bigint,
  reason: string,
): Promise<void> {
  await db.query(
    `INSERT INTO offset_gap (generation, topic, partition, from_offset, to_offset, reason) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (generation, topic, partition, from_offset) DO UPDATE SET to_offset = EXCLUDED.to_offset, reason = EXCLUDED.reason`,
    [at.generation, at.topic, at.partition, from.toString(), to.toString(), reason],
  );
}
