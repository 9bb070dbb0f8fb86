import type { ProjectionSource } from "./adapters/projection-source.ts";
import type { SinkState } from "./adapters/sink-state.ts";
import type { ContactState } from "./domain/contact-state.ts";
import { desiredContact } from "./domain/desired.ts";
import type { SinkConfig } from "./domain/sink-config.ts";

/**
 * Drift check: reads contacts back from Brevo and compares them, field by field, with what the
 * sink last pushed and with the desired state. A wrong assumption about Brevo (a clear that does
 * not clear, an import that does not set the ext_id) shows up as drift on the fields it touches.
 * Only the fields the sink manages are compared: mapped attributes, email, managed lists.
 */
export interface BrevoContactView {
  readonly email: string | null;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly listIds: readonly number[];
}

export interface DriftReport {
  sampled: number;
  /** Contacts missing in Brevo although the bookkeeping says pushed (and not deleted). */
  missing: number;
  /** Per field (`email`, `list:<id>`, attribute name): how often Brevo ≠ last pushed / ≠ desired. */
  vsPushed: Record<string, number>;
  vsDesired: Record<string, number>;
  examples: string[];
}

const same = (a: unknown, b: unknown) => (a ?? null) === (b ?? null) || String(a ?? "") === String(b ?? "");

export function compareContact(
  brevo: BrevoContactView,
  expected: ContactState,
  config: SinkConfig,
  into: Record<string, number>,
): string[] {
  const fields: string[] = [];
  if (expected.email !== null && !same(brevo.email?.toLowerCase(), expected.email)) fields.push("email");
  for (const a of config.attributes) {
    if (!same(brevo.attributes[a.attribute], expected.attributes[a.attribute])) fields.push(a.attribute);
  }
  for (const l of config.lists) {
    if (brevo.listIds.includes(l.listId) !== expected.lists.includes(l.listId)) fields.push(`list:${l.listId}`);
  }
  for (const f of fields) into[f] = (into[f] ?? 0) + 1;
  return fields;
}

export async function sampleDrift(deps: {
  readonly config: SinkConfig;
  readonly state: Pick<SinkState, "loadPushed">;
  readonly source: Pick<ProjectionSource, "byIds">;
  /** The ext_ids to sample (the caller picks them: random rows of the bookkeeping). */
  readonly extIds: readonly string[];
  readonly getContact: (extId: string) => Promise<BrevoContactView | undefined>;
}): Promise<DriftReport> {
  const report: DriftReport = { sampled: 0, missing: 0, vsPushed: {}, vsDesired: {}, examples: [] };
  const pushed = await deps.state.loadPushed(deps.extIds);
  const rows = new Map((await deps.source.byIds(deps.extIds)).map((r) => [r.customerId, r]));
  for (const extId of deps.extIds) {
    const last = pushed.get(extId);
    if (last === undefined || last.deleted) continue;
    report.sampled++;
    const brevo = await deps.getContact(extId);
    if (brevo === undefined) {
      report.missing++;
      if (report.examples.length < 10) report.examples.push(`${extId}: missing in Brevo`);
      continue;
    }
    const fields = compareContact(brevo, last, deps.config, report.vsPushed);
    const row = rows.get(extId);
    const desired = row === undefined ? undefined : desiredContact(row, deps.config);
    if (desired?.kind === "contact") compareContact(brevo, desired.state, deps.config, report.vsDesired);
    if (fields.length > 0 && report.examples.length < 10) report.examples.push(`${extId}: ${fields.join(", ")}`);
  }
  return report;
}
