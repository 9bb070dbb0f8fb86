import type { HaltReason } from "../store/partition-state.ts";
import type { LastRecord, StoredPosition } from "../store/positions.ts";

/**
 * What a partition's stored position means against the log as the broker has it now. Pure: the
 * consumer reads the stored position and the watermarks, then acts on the verdict.
 *   - resume: seek to `from`; when `verify` is set, `from` is that record's offset and its
 *     fingerprint must match before anything is applied (the topic is still the one we read).
 *   - halt: never skip silently; the detail names the fix.
 */
export type PositionVerdict =
  | { readonly action: "resume"; readonly from: bigint; readonly verify: LastRecord | null }
  | { readonly action: "halt"; readonly reason: HaltReason; readonly detail: string };

export interface Watermarks {
  /** Log start offset: the first offset the broker still has. */
  readonly low: bigint;
  /** High-water mark: the offset the next record will get. */
  readonly high: bigint;
}

export const FIX_REBUILD = "rebuild the projection from the topic as it is now: pnpm cli rebuild";

export function checkPosition(
  where: { topic: string; partition: number },
  stored: StoredPosition | undefined,
  marks: Watermarks,
): PositionVerdict {
  const at = `${where.topic}[${where.partition}]`;
  const next = stored?.next ?? 0n;
  if (next > marks.high) {
    return {
      action: "halt",
      reason: "ahead_of_log",
      detail: `stored next offset ${next} is past the end of ${at} (${marks.high}): the topic was recreated or this is another cluster; ${FIX_REBUILD}`,
    };
  }
  if (next < marks.low) {
    return {
      action: "halt",
      reason: "below_log_start",
      detail: `offsets ${next}..${marks.low - 1n} of ${at} were deleted (retention or deleteRecords) before this generation applied them; ${FIX_REBUILD}, or skip them knowingly: pnpm cli accept-gap --topic ${where.topic} --partition ${where.partition}`,
    };
  }
  const last = stored?.last ?? null;
  // The last record covered is still in the log: read it back before trusting the position. (When
  // retention removed it, nothing is left to compare with; the position is at or above the log start.)
  if (last !== null && last.offset >= marks.low && last.offset < marks.high && last.offset < next) {
    return { action: "resume", from: last.offset, verify: last };
  }
  return { action: "resume", from: next, verify: null };
}

/** The halt for a partition whose last covered record is gone or different. */
export function identityMismatch(
  where: { topic: string; partition: number },
  expected: LastRecord,
  found: { offset: bigint; fingerprint: string } | undefined,
): { reason: HaltReason; detail: string } {
  const at = `${where.topic}[${where.partition}]`;
  const what =
    found === undefined || found.offset !== expected.offset
      ? `has no record at offset ${expected.offset} any more`
      : `holds a different record at offset ${expected.offset}`;
  return {
    reason: "topic_identity",
    detail: `${at} ${what} than the one this generation last applied: the topic was recreated or this is another cluster; ${FIX_REBUILD}`,
  };
}
