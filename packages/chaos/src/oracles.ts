import { canonicalJson, type ReadModelRow } from "@sbs/projector/domain";
import { type CustomerTruth, withoutZeros } from "./ground-truth.ts";

/**
 * The five oracles of RELIABILITY.md as pure functions over what the harness collected after
 * quiescence. Each returns its mismatch count and the first differing rows, so a failure can be
 * read and replayed (the seed is printed beside them).
 */
export type OracleName = "A" | "B" | "C" | "D" | "E";

export interface OracleResult {
  readonly oracle: OracleName;
  readonly title: string;
  readonly mismatches: number;
  /** The first differences, one line each (at most `FIRST`). */
  readonly first: readonly string[];
}

const FIRST = 10;

function result(oracle: OracleName, title: string, problems: readonly string[], count = problems.length): OracleResult {
  return { oracle, title, mismatches: count, first: problems.slice(0, FIRST) };
}

/** A: every event id that got a 2xx is in the topic. */
export function oracleA(acked: Iterable<string>, inTopic: ReadonlySet<string>): OracleResult {
  const lost: string[] = [];
  for (const id of acked) if (!inTopic.has(id)) lost.push(`${id}: acknowledged with 2xx, not in the topic`);
  return result("A", "every 2xx'd event id is in the topic", lost);
}

/** Field by field, as canonical JSON (jsonb objects come back with their keys in any order). */
function rowDiff(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    const x = canonicalJson(a[k] ?? null);
    const y = canonicalJson(b[k] ?? null);
    if (x !== y) out.push(`${k}: ${x} != ${y}`);
  }
  return out;
}

/** B: the projection equals the pure fold of the whole topic, row by row. */
export function oracleB(projection: readonly ReadModelRow[], folded: readonly ReadModelRow[]): OracleResult {
  const problems: string[] = [];
  const want = new Map(folded.map((r) => [r.customer_id, r]));
  const seen = new Set<string>();
  for (const row of projection) {
    seen.add(row.customer_id);
    const expected = want.get(row.customer_id);
    if (!expected) {
      problems.push(`${row.customer_id}: in the projection, not in the fold`);
      continue;
    }
    const diff = rowDiff(row as unknown as Record<string, unknown>, expected as unknown as Record<string, unknown>);
    if (diff.length > 0) problems.push(`${row.customer_id}: projection vs fold: ${diff.join("; ")}`);
  }
  for (const id of want.keys()) if (!seen.has(id)) problems.push(`${id}: in the fold, not in the projection`);
  return result("B", "projection == pure fold of the whole topic", problems);
}

/** C: the fake Brevo equals the desired state of every customer (lines from brevoDiffersFromDesired). */
export function oracleC(problems: readonly string[]): OracleResult {
  return result("C", "Brevo contacts, attributes and lists == desired state", problems);
}

/** D: the fold agrees with the generator's independent model: payments, totals, MRR, status, deletion. */
export function oracleD(folded: readonly ReadModelRow[], truth: ReadonlyMap<string, CustomerTruth>): OracleResult {
  const problems: string[] = [];
  const rows = new Map(folded.map((r) => [r.customer_id, r]));
  for (const t of truth.values()) {
    const row = rows.get(t.customerId);
    if (!row) {
      problems.push(`${t.customerId}: in the generated history, not in the fold`);
      continue;
    }
    // A deleted customer's metrics are left as they were: only the deletion itself is promised.
    const got = row.deleted
      ? { deleted: true }
      : {
          deleted: false,
          paymentCount: row.payment_count,
          totalSpent: withoutZeros(row.total_spent),
          mrr: withoutZeros(row.mrr),
          subscriptionStatus: row.subscription_status,
        };
    const want = t.deleted
      ? { deleted: true }
      : {
          deleted: false,
          paymentCount: t.paymentCount,
          totalSpent: t.totalSpent,
          mrr: t.mrr,
          subscriptionStatus: t.subscriptionStatus,
        };
    const diff = rowDiff(got, want);
    if (diff.length > 0) problems.push(`${t.customerId}: fold vs model: ${diff.join("; ")}`);
  }
  for (const id of rows.keys()) if (!truth.has(id)) problems.push(`${id}: in the fold, not in the generated history`);
  return result("D", "fold == the generator's model (payments, totals, MRR, status)", problems);
}

export interface PartitionAccount {
  readonly partition: number;
  /** The topic's high-water mark. */
  readonly high: number;
  readonly next: number;
  readonly applied: number;
  readonly deadLettered: number;
}

export interface SentCustomEvent {
  readonly stripeEventId: string;
}

export interface TopicEvent {
  readonly type: string;
  readonly created: number;
  /** Delivered by a webhook (not a backfill or catch-up snapshot). */
  readonly live: boolean;
  /** The customer its object belongs to, when it has one (the sink's envelope rule). */
  readonly customerId: string | undefined;
}

/** Events the sink owes a decision: mapped, delivered live, created at or after send_after, with a customer. */
export function owedCustomEvents(input: {
  readonly topicEvents: ReadonlyMap<string, TopicEvent>;
  readonly mappedTypes: ReadonlySet<string>;
  readonly sendAfter: number;
}): string[] {
  return [...input.topicEvents]
    .filter(
      ([, e]) => input.mappedTypes.has(e.type) && e.live && e.created >= input.sendAfter && e.customerId !== undefined,
    )
    .map(([id]) => id);
}

/**
 * E: every record read is applied or dead-lettered, never both and never neither (per partition
 * of the live generation: applied + dead-lettered == next == high-water mark; the dead-letter
 * topic holds as many records as were counted dead); no Brevo custom event sent twice, or for an
 * event that is not live (not in the topic, of an unmapped type, or created before send_after);
 * and every live event the sink owes a decision (mapped, live, after send_after, with a customer)
 * reached its ledger: sent, failed with a reason, or claimed (in doubt after a kill). Without that
 * half, a sink whose event consumer never ran would pass.
 */
export function oracleE(input: {
  readonly partitions: readonly PartitionAccount[];
  readonly dlqRecords: number;
  readonly sent: readonly SentCustomEvent[];
  readonly topicEvents: ReadonlyMap<string, TopicEvent>;
  readonly mappedTypes: ReadonlySet<string>;
  readonly sendAfter: number;
  /** The sink's event ledger: Stripe event id → status. */
  readonly ledger: ReadonlyMap<string, string>;
}): OracleResult {
  const problems: string[] = [];
  let dead = 0;
  for (const p of input.partitions) {
    dead += p.deadLettered;
    if (p.next !== p.high) problems.push(`partition ${p.partition}: next offset ${p.next}, high-water mark ${p.high}`);
    if (p.applied + p.deadLettered !== p.next)
      problems.push(
        `partition ${p.partition}: applied ${p.applied} + dead-lettered ${p.deadLettered} != next offset ${p.next}`,
      );
  }
  if (dead !== input.dlqRecords)
    problems.push(`dead-lettered ${dead} records, the dead-letter topic holds ${input.dlqRecords}`);
  const times = new Map<string, number>();
  for (const e of input.sent) times.set(e.stripeEventId, (times.get(e.stripeEventId) ?? 0) + 1);
  for (const [id, n] of times) {
    if (n > 1) problems.push(`custom event for ${id} sent ${n} times`);
    const event = input.topicEvents.get(id);
    if (!event) problems.push(`custom event for ${id}, which is not in the topic`);
    else if (!input.mappedTypes.has(event.type)) problems.push(`custom event for ${id} of unmapped type ${event.type}`);
    else if (event.created < input.sendAfter)
      problems.push(`custom event for ${id} created ${event.created}, before send_after ${input.sendAfter}`);
  }
  for (const id of owedCustomEvents(input)) {
    if (!input.ledger.has(id))
      problems.push(`live custom event ${id} (${input.topicEvents.get(id)?.type}) never reached the ledger`);
  }
  return result("E", "every record applied xor dead-lettered; custom events once, live only, none skipped", problems);
}
