/**
 * The projector's read model, type only. @sbs/projector exports no `domain` subpath, so the type
 * is reached by path here, in one place; no projector code runs inside the sink.
 */
import type { CustomerReadModel as ProjectorReadModel } from "@sbs/projector/domain";

/**
 * The customer's MRR history summary (the projector's `customer_mrr_summary` view), read only
 * when the config maps or tests one of its fields (HISTORY_FIELDS).
 */
export interface MrrHistorySummary {
  /** Unix seconds of the first instant with MRR > 0. */
  readonly firstPaidAt: number | null;
  /** Per currency: class of the latest month that moved (new, expansion, contraction, churn, reactivation). */
  readonly lastMovement: Readonly<Record<string, string>>;
  /** Per currency: that month's signed MRR change, minor units. */
  readonly lastChange: Readonly<Record<string, number>>;
}

export type CustomerReadModel = ProjectorReadModel & { readonly mrrHistory?: MrrHistorySummary };
