import { inTransaction, partitionOfKey, recordKey } from "@sbs/shared";
import type { ClientBase, Pool } from "pg";

/**
 * Slots, their locks and their mailboxes (README "Partition-parallel writes"). A generation has a
 * fixed number of slots, its topic's partition count when it was first written; a customer's slot
 * is the partition Kafka's default partitioner gives the customer's record key among that many.
 * A customer is derived only by a transaction holding its slot's lock, so the derivations of one
 * customer never overlap, while batches of different partitions commit side by side.
 */

/** The slot guarding `customerId` (whose events carry `account`) among `slots`. */
export const slotOf = (customerId: string, account: string | null, slots: number): number =>
  partitionOfKey(recordKey(account, customerId), slots);

/**
 * The generation's slot count: fixed by the first writer that asks (with the topic's partition
 * count then), read by all the others. Run outside batch transactions: it touches the
 * generation's row, which every batch would otherwise queue on.
 */
async function generationSlots(db: Pool | ClientBase, generation: number, partitions: number): Promise<number> {
  await db.query("UPDATE projection_generation SET slots = $2 WHERE generation = $1 AND slots IS NULL", [
    generation,
    partitions,
  ]);
  // A separate statement: it sees the count whoever set it first committed.
  const { rows } = await db.query<{ slots: number | null }>(
    "SELECT slots FROM projection_generation WHERE generation = $1",
    [generation],
  );
  const slots = rows[0]?.slots;
  if (slots === undefined || slots === null) throw new Error(`there is no generation ${generation}`);
  return slots;
}

/**
 * Slot counts by generation, asked of Postgres once per generation and process (the count never
 * changes once set): the batch processor and the mailbox drain share one.
 */
export function createSlotCounts(pool: Pool, partitionCount: () => Promise<number>) {
  const known = new Map<number, number>();
  return async (generation: number): Promise<number> => {
    const cached = known.get(generation);
    if (cached !== undefined) return cached;
    const slots = await generationSlots(pool, generation, await partitionCount());
    known.set(generation, slots);
    return slots;
  };
}

export type SlotCounts = ReturnType<typeof createSlotCounts>;

/** The generation's lock ($1 = generation), in the only form every taker uses. */
export const generationLock = (exclusive: boolean) =>
  exclusive
    ? "pg_advisory_xact_lock(hashtext(current_schema()), $1)"
    : "pg_advisory_xact_lock_shared(hashtext(current_schema()), $1)";
const positionLock = (topic: string, partition: string) =>
  `pg_advisory_xact_lock(hashtext(current_schema() || '/position/' || ${topic} || '/' || ${partition}), $1)`;
const slotLock = (slot: string, fn = "pg_advisory_xact_lock") =>
  `${fn}(hashtext(current_schema() || '/slot/' || ${slot}), $1)`;

/**
 * A batch's locks, in the one order every transaction takes them (generation, position, slot),
 * in one statement, before it reads anything: the generation shared (erasure and a rebuild's bulk
 * load take it exclusively), the partition's position (a zombie owner waits, then finds the
 * position moved), and the slot of the partition's customers (none for a partition beyond the
 * generation's slots: its customers are then all requested from their slots).
 */
export async function lockBatch(
  db: ClientBase,
  at: { readonly generation: number; readonly topic: string; readonly partition: number },
  slot: number | null,
  synchronousCommit: boolean,
): Promise<void> {
  const locks = [generationLock(false), positionLock("$3", "$4::text")];
  const params: unknown[] = [at.generation, synchronousCommit ? "on" : "off", at.topic, at.partition];
  if (slot !== null) {
    params.push(slot);
    locks.push(slotLock("$5::text"));
  }
  // Asynchronous commit (optional) is safe: state and offset are lost or kept together, and what
  // a crash loses is replayed from Kafka, whose offsets never run ahead of Postgres.
  await db.query(`SELECT set_config('synchronous_commit', $2, true), ${locks.join(", ")}`, params);
}

/** A mailbox drain's locks: the generation shared and the slot, if no batch holds it (false then). */
export async function tryLockSlot(
  db: ClientBase,
  generation: number,
  slot: number,
  synchronousCommit: boolean,
): Promise<boolean> {
  const { rows } = await db.query<{ got: boolean }>(
    `SELECT set_config('synchronous_commit', $2, true), ${generationLock(false)}, ${slotLock("$3::text", "pg_try_advisory_xact_lock")} AS got`,
    [generation, synchronousCommit ? "on" : "off", slot],
  );
  return rows[0]?.got === true;
}

/**
 * Under the slot's lock, in one statement: writes `marker` into the slot's marker row
 * (slot_marker, migration 0011; projection/fact-cache.ts) and takes the slot's derive requests.
 * Returns the marker that was there (null: none, or deleted) and the customers to derive again.
 */
export async function takeSlot(
  db: ClientBase,
  generation: number,
  slot: number,
  marker: string,
): Promise<{ previous: string | null; requested: string[] }> {
  const { rows } = await db.query<{ previous: string | null; requested: string[] }>(
    `WITH previous AS (SELECT marker FROM slot_marker WHERE generation = $1 AND slot = $2),
     mark AS (INSERT INTO slot_marker (generation, slot, marker) VALUES ($1, $2, $3)
              ON CONFLICT (generation, slot) DO UPDATE SET marker = EXCLUDED.marker),
     taken AS (DELETE FROM derive_request WHERE generation = $1 AND slot = $2 RETURNING customer_id)
     SELECT (SELECT marker FROM previous) AS previous, ARRAY(SELECT DISTINCT customer_id FROM taken) AS requested`,
    [generation, slot, marker],
  );
  return { previous: rows[0]?.previous ?? null, requested: rows[0]?.requested ?? [] };
}

/**
 * Every projector process keeps some customers' facts in memory (projection/fact-cache.ts) while
 * the slot's marker is the one its cache wrote last. Removing a generation's markers makes every
 * cache reload from the tables: called by whatever changes facts without a slot's lock (an
 * erasure's purge, a rebuild's bulk load).
 */
export async function forgetSlotMarkers(db: ClientBase, generations: readonly number[]): Promise<void> {
  await db.query("DELETE FROM slot_marker WHERE generation = ANY($1::integer[])", [generations]);
}

export interface DeriveRequest {
  readonly slot: number;
  readonly customerId: string;
}

export async function requestDerive(db: ClientBase, generation: number, requests: readonly DeriveRequest[]) {
  if (requests.length === 0) return;
  // Appended (no unique key, see migration 0009): an insert waits for no other transaction.
  const unique = [...new Map(requests.map((r) => [`${r.slot}:${r.customerId}`, r])).values()];
  await db.query(
    `INSERT INTO derive_request (generation, slot, customer_id)
     SELECT $1, x.slot, x.customer_id FROM unnest($2::int[], $3::text[]) AS x(slot, customer_id)`,
    [generation, unique.map((r) => r.slot), unique.map((r) => r.customerId)],
  );
}

/** Refunds' and disputes' charges no fact knows yet (charge id → account). */
export async function requestCharges(
  db: ClientBase,
  generation: number,
  charges: ReadonlyMap<string, string | null>,
): Promise<void> {
  if (charges.size === 0) return;
  // In key order: two partitions asking for the same charges in opposite orders would each wait
  // on the other's uncommitted row.
  const ids = [...charges.keys()].sort(); // UTF-16 code-unit order: the same on every instance
  await db.query(
    `INSERT INTO charge_request (generation, charge_id, account)
     SELECT $1, x.charge_id, x.account FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(charge_id, account, n)
     ORDER BY x.n
     ON CONFLICT DO NOTHING`,
    [generation, ids, ids.map((id) => charges.get(id) ?? null)],
  );
}

/**
 * Charge requests whose charge is now known become derive requests for its customer. A charge a
 * transaction is changing is left for the next sweep (SKIP LOCKED), so the customer read is the
 * committed one. Waiting for it instead deadlocked: that batch then inserted a charge request
 * this sweep was deleting (40P01, seen in the bench).
 * Returns the number of derive requests made.
 */
export async function resolveChargeRequests(db: ClientBase, generation: number, slots: number): Promise<number> {
  const { rows } = await db.query<{ customer_id: string | null; account: string | null }>(
    `WITH known AS (
       SELECT r.charge_id, r.account, f.customer_id FROM charge_request r
       JOIN fact_charge f ON f.generation = r.generation AND f.id = r.charge_id
       WHERE r.generation = $1 FOR SHARE OF f SKIP LOCKED),
     taken AS (DELETE FROM charge_request r USING known k WHERE r.generation = $1 AND r.charge_id = k.charge_id)
     SELECT customer_id, account FROM known`,
    [generation],
  );
  const requests = rows.flatMap((r) =>
    r.customer_id === null ? [] : [{ slot: slotOf(r.customer_id, r.account, slots), customerId: r.customer_id }],
  );
  await requestDerive(db, generation, requests);
  return requests.length;
}

/** Catalog entries (`kind:id` → account) a transaction changed, for `resolveCatalogRequests`. */
export async function requestCatalog(
  db: ClientBase,
  generation: number,
  refs: ReadonlyMap<string, string | null>,
): Promise<void> {
  if (refs.size === 0) return;
  await db.query(
    `INSERT INTO catalog_request (generation, ref, account)
     SELECT $1, x.ref, x.account FROM unnest($2::text[], $3::text[]) AS x(ref, account)`,
    [generation, [...refs.keys()], [...refs.values()]],
  );
}

/** The catalog requests committed so far (their ids), oldest first. */
export async function pendingCatalogRequests(db: Pool | ClientBase, generation: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    "SELECT id::text FROM catalog_request WHERE generation = $1 ORDER BY id LIMIT 10000",
    [generation],
  );
  return rows.map((r) => r.id);
}

/**
 * Waits until every transaction that held a slot's lock when this was called has ended: each
 * slot's lock is taken and released in turn, in a transaction of its own (holding one while
 * waiting for the next would stall that slot's batches). Every derivation runs under its
 * customer's slot lock, taken before it reads anything.
 */
export async function awaitSlotHolders(pool: Pool, generation: number, slots: number): Promise<void> {
  for (let slot = 0; slot < slots; slot++)
    await inTransaction(pool, (client) => client.query(`SELECT ${slotLock("$2::text")}`, [generation, slot]));
}

/** Claims catalog requests by id (another instance may claim them first): their entries and accounts. */
export async function takeCatalogRequests(
  db: ClientBase,
  generation: number,
  ids: readonly string[],
): Promise<Map<string, string | null>> {
  const { rows } = await db.query<{ ref: string; account: string | null }>(
    "DELETE FROM catalog_request WHERE generation = $1 AND id = ANY($2::bigint[]) RETURNING ref, account",
    [generation, ids],
  );
  return new Map(rows.map((r) => [r.ref, r.account]));
}

/**
 * Cross-partition work not done yet: derive requests, catalog requests, and charge requests whose charge is known
 * (one whose charge never came waits harmlessly). Zero once the generation is quiescent.
 */
export async function mailboxBacklog(db: Pool | ClientBase, generation: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM derive_request WHERE generation = $1)
      + (SELECT count(*) FROM catalog_request WHERE generation = $1)
      + (SELECT count(*) FROM charge_request r JOIN fact_charge f ON f.generation = r.generation AND f.id = r.charge_id
         WHERE r.generation = $1))::int AS n`,
    [generation],
  );
  return rows[0]?.n ?? 0;
}

/** Derive requests waiting, by slot (for the supervisor and the metrics). */
export async function pendingRequests(db: Pool | ClientBase, generation: number): Promise<Map<number, number>> {
  const { rows } = await db.query<{ slot: number; n: number }>(
    "SELECT slot, count(*)::int AS n FROM derive_request WHERE generation = $1 GROUP BY slot",
    [generation],
  );
  return new Map(rows.map((r) => [r.slot, r.n]));
}
