/** The sink's pure core: config, desired contact state, diff, plan, event decisions. No IO below this folder. */
export { type AttributePlan, describeConflicts, type ExistingAttribute, planAttributes } from "./attributes.ts";
export { type ContactState, sortedLists } from "./contact-state.ts";
export { minorUnitDigits, toMajorUnits } from "./currency.ts";
export { type Desired, desiredContact } from "./desired.ts";
export { type ContactCommand, type DiffResult, diffContact } from "./diff.ts";
export { type BrevoEventRequest, decideEvent, type EventDecision, type SinkEvent } from "./events.ts";
export type { AttributeValue, BrevoAttributeType } from "./fields.ts";
export { formatPlan, type PlanSummary, summarize } from "./plan.ts";
export type { CustomerReadModel } from "./read-model.ts";
export {
  type AttributeMapping,
  type ConfigIssue,
  DEFAULT_ATTRIBUTES,
  DEFAULT_EVENTS,
  type DeletedPolicy,
  formatPath,
  type ListRule,
  parseSinkConfig,
  type SinkConfig,
} from "./sink-config.ts";
