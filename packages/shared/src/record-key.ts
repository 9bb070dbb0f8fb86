/**
 * The Kafka record key of a Stripe object, and the partition Kafka's default partitioner puts it
 * in. Ingest keys every event by `${account}:${customer}`; the projector uses the same formula to
 * know which partition's lock guards a customer (see services/projector/README.md), so the two
 * must never drift apart: both live here.
 */

/** Account part of the key for events of the platform account itself (no Connect `account`). */
export const PLATFORM_ACCOUNT = "platform";

/** `${account ?? "platform"}:${id}`: the key of a customer's records (or of an object without one). */
export const recordKey = (account: string | null | undefined, id: string): string =>
  `${account ?? PLATFORM_ACCOUNT}:${id}`;

/**
 * Murmur2 as in the Java client's `Utils.murmur2` (and kafkajs's DefaultPartitioner), over the
 * key's UTF-8 bytes, seed 0x9747b28c.
 */
export function murmur2(key: string | Buffer): number {
  const data = typeof key === "string" ? Buffer.from(key, "utf8") : key;
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = (0x9747b28c ^ length) | 0;
  const words = length >> 2;
  for (let i = 0; i < words; i++) {
    const at = i * 4;
    let k =
      (data[at] as number) |
      ((data[at + 1] as number) << 8) |
      ((data[at + 2] as number) << 16) |
      ((data[at + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = words * 4;
  const rest = length & 3;
  if (rest === 3) h ^= (data[tail + 2] as number) << 16;
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[tail] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition of `key` among `partitions`, as Kafka's default (murmur2) partitioner picks it. */
export const partitionOfKey = (key: string | Buffer, partitions: number): number =>
  (murmur2(key) & 0x7fffffff) % partitions;
