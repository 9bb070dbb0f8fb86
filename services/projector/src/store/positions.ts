import type { ClientBase } from "pg";
import { generationLock } from "./slots.ts";

/**
 * Positions and generations. `lockGeneration` takes a generation's advisory lock exclusively:
 * no batch of it runs meanwhile (every batch holds it shared, see lockBatch in slots.ts). Erasure,
 * dropping a generation and the rebuild's bulk load use it.
 */
export async function lockGeneration(db: ClientBase, generation: number, synchronousCommit = true): Promise<void> {
  // Asynchronous commit (optional) is safe here: state and offset are lost or kept together, and
  // what a crash loses is replayed from Kafka, whose offsets never run ahead of Postgres.
  await db.query(`SELECT set_config('synchronous_commit', $2, true), ${generationLock(true)}`, [
    generation,
    synchronousCommit ? "on" : "off",
  ]);
}

export async function livePointer(db: Pick<ClientBase, "query">): Promise<number> {
  const { rows } = await db.query<{ generation: number }>("SELECT generation FROM projection_pointer");
  const row = rows[0];
  if (!row) throw new Error("projection_pointer is empty: were the migrations applied?");
  return row.generation;
}

/** Stored next offsets of a generation for one topic, by partition (absent: nothing processed yet). */
export async function nextOffsets(
  db: Pick<ClientBase, "query">,
  generation: number,
  topic: string,
): Promise<Map<number, bigint>> {
  const { rows } = await db.query<{ partition: number; next_offset: string }>(
    "SELECT partition, next_offset FROM processed_offset WHERE generation = $1 AND topic = $2",
    [generation, topic],
  );
  return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
}

export async function nextOffset(
  db: Pick<ClientBase, "query">,
  generation: number,
  topic: string,
  partition: number,
): Promise<bigint> {
  const { rows } = await db.query<{ next_offset: string }>(
    "SELECT next_offset FROM processed_offset WHERE generation = $1 AND topic = $2 AND partition = $3",
    [generation, topic, partition],
  );
  return rows[0] ? BigInt(rows[0].next_offset) : 0n;
}

/** The last record a position covers: read back on assignment to prove the topic is the same one. */
export interface LastRecord {
  readonly offset: bigint;
  readonly fingerprint: string;
}

export interface StoredPosition {
  readonly next: bigint;
  readonly last: LastRecord | null;
}

/** Stored positions of a generation for one topic, with the record each one last covered. */
export async function storedPositions(
  db: Pick<ClientBase, "query">,
  generation: number,
  topic: string,
): Promise<Map<number, StoredPosition>> {
  const { rows } = await db.query<{
    partition: number;
    next_offset: string;
    last_offset: string | null;
    last_fingerprint: string | null;
  }>(
    "SELECT partition, next_offset, last_offset, last_fingerprint FROM processed_offset WHERE generation = $1 AND topic = $2",
    [generation, topic],
  );
  return new Map(
    rows.map((r) => [
      r.partition,
      {
        next: BigInt(r.next_offset),
        last:
          r.last_offset === null || r.last_fingerprint === null
            ? null
            : { offset: BigInt(r.last_offset), fingerprint: r.last_fingerprint },
      },
    ]),
  );
}

/**
 * Moves a partition's position to `next` (never backwards) and adds to its counters. `last` is
 * the batch's last record (kept only when it is the newest the position has covered).
 */
export async function advanceOffset(
  db: ClientBase,
  at: { generation: number; topic: string; partition: number },
  next: bigint,
  counts: { applied: number; deadLettered: number },
  last: LastRecord | null = null,
): Promise<void> {
  await db.query(
    `INSERT INTO processed_offset (generation, topic, partition, next_offset, applied_count, dead_lettered_count, last_offset, last_fingerprint)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (generation, topic, partition) DO UPDATE SET
       next_offset = GREATEST(processed_offset.next_offset, EXCLUDED.next_offset),
       applied_count = processed_offset.applied_count + EXCLUDED.applied_count,
       dead_lettered_count = processed_offset.dead_lettered_count + EXCLUDED.dead_lettered_count,
       last_offset = CASE WHEN EXCLUDED.next_offset >= processed_offset.next_offset
         THEN COALESCE(EXCLUDED.last_offset, processed_offset.last_offset) ELSE processed_offset.last_offset END,
       last_fingerprint = CASE WHEN EXCLUDED.next_offset >= processed_offset.next_offset
         THEN COALESCE(EXCLUDED.last_fingerprint, processed_offset.last_fingerprint) ELSE processed_offset.last_fingerprint END,
       updated_at = now()`,
    [
      at.generation,
      at.topic,
      at.partition,
      next.toString(),
      counts.applied,
      counts.deadLettered,
      last?.offset.toString() ?? null,
      last?.fingerprint ?? null,
    ],
  );
}

/** Opens a new generation for a rebuild (state `building`); the live one is untouched. */
export async function createGeneration(db: Pick<ClientBase, "query">): Promise<number> {
  const { rows } = await db.query<{ generation: number }>(
    `INSERT INTO projection_generation (generation, state)
     SELECT COALESCE(max(generation), 0) + 1, 'building' FROM projection_generation
     RETURNING generation`,
  );
  const row = rows[0];
  if (!row) throw new Error("could not create a generation");
  return row.generation;
}

export async function generationStates(db: Pick<ClientBase, "query">): Promise<Map<number, string>> {
  const { rows } = await db.query<{ generation: number; state: string }>(
    "SELECT generation, state FROM projection_generation ORDER BY generation",
  );
  return new Map(rows.map((r) => [r.generation, r.state]));
}

/**
 * Points readers (the view, the live projector) at `generation` in one transaction; the
 * previous one is kept as `retired` for rollback (switching back to it is the same call).
 * `verify` runs inside the transaction, after the lock, and may refuse by throwing.
 */
export async function switchGeneration(
  db: ClientBase,
  generation: number,
  verify: (db: ClientBase) => Promise<void> = async () => {},
): Promise<{ from: number; to: number }> {
  await db.query("BEGIN");
  try {
    const { rows } = await db.query<{ generation: number }>("SELECT generation FROM projection_pointer FOR UPDATE");
    const from = rows[0]?.generation;
    if (from === undefined) throw new Error("projection_pointer is empty");
    await verify(db);
    await db.query("UPDATE projection_pointer SET generation = $1, switched_at = now()", [generation]);
    // Customers the old generation shows and the new one does not: the change feed's readers
    // (who start over on a new generation) learn that they are gone.
    await db.query(
      `INSERT INTO customer_projection_tombstone (generation, customer_id)
       SELECT $1, o.customer_id FROM customer_projection o
       WHERE o.generation = $2
         AND NOT EXISTS (SELECT 1 FROM customer_projection n WHERE n.generation = $1 AND n.customer_id = o.customer_id)
       ON CONFLICT (generation, customer_id) DO UPDATE SET change_xid = pg_current_xact_id()`,
      [generation, from],
    );
    await db.query(
      `UPDATE projection_generation SET
         state = CASE WHEN generation = $1 THEN 'live' ELSE 'retired' END,
         switched_at = CASE WHEN generation = $1 THEN now() ELSE switched_at END
       WHERE generation = $1 OR generation = $2`,
      [generation, from],
    );
    await db.query("COMMIT");
    return { from, to: generation };
  } catch (error) {
    await db.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
