import type { ProjectionSource } from "./adapters/projection-source.ts";
import type { SinkState } from "./adapters/sink-state.ts";

/**
 * When a pass is a full resync (a diff of every customer) instead of incremental. Both inputs are
 * kept in the sink's state, not in memory, so a sink restarted more often than SINK_RESYNC_EVERY_MS
 * still resyncs on schedule:
 *   - the last completed resync's time (`last_resync_at`, ms);
 *   - the projection's live generation (`projection_pointer`) last seen by a completed resync: a
 *     rebuild switched in may carry change stamps older than the cursor, so a new generation is
 *     diffed whole.
 */
export const LAST_RESYNC_AT = "last_resync_at";
export const PROJECTION_GENERATION = "projection_generation";

export interface PassPlan {
  readonly mode: "incremental" | "resync";
  readonly why?: "schedule" | "generation";
  /** The live generation now, recorded once the resync completed. */
  readonly generation: string | undefined;
}

export async function planPass(
  state: Pick<SinkState, "getCursor" | "setCursor">,
  source: Pick<ProjectionSource, "generation">,
  now: number,
  resyncEveryMs: number,
): Promise<PassPlan> {
  const generation = source.generation ? await source.generation() : undefined;
  const seen = await state.getCursor(PROJECTION_GENERATION);
  if (generation !== undefined && generation !== seen) return { mode: "resync", why: "generation", generation };
  const stored = await state.getCursor(LAST_RESYNC_AT);
  if (stored === undefined) {
    // First run: the change feed from no cursor reads everything anyway; the schedule starts now.
    await state.setCursor(LAST_RESYNC_AT, String(now));
    return { mode: "incremental", generation };
  }
  return now - Number(stored) >= resyncEveryMs
    ? { mode: "resync", why: "schedule", generation }
    : { mode: "incremental", generation };
}

/** After a completed resync. */
export async function resyncDone(
  state: Pick<SinkState, "setCursor">,
  plan: PassPlan,
  now: number,
  fence: number | undefined,
): Promise<void> {
  await state.setCursor(LAST_RESYNC_AT, String(now), fence);
  if (plan.generation !== undefined) await state.setCursor(PROJECTION_GENERATION, plan.generation, fence);
}
