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
  /** Contacts missing or differing from the last push in any field. */
  drifted: number;
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
  const report: DriftReport = { sampled: 0, missing: 0, drifted: 0, vsPushed: {}, vsDesired: {}, examples: [] };
  const pushed = await deps.state.loadPushed(deps.extIds);
  const rows = new Map((await deps.source.byIds(deps.extIds)).map((r) => [r.customerId, r]));
  for (const extId of deps.extIds) {
    const last = pushed.get(extId);
    if (last === undefined || last.deleted) continue;
    report.sampled++;
    const brevo = await deps.getContact(extId);
    if (brevo === undefined) {
      report.missing++;
      report.drifted++;
      if (report.examples.length < 10) report.examples.push(`${extId}: missing in Brevo`);
      continue;
    }
    const fields = compareContact(brevo, last, deps.config, report.vsPushed);
    const row = rows.get(extId);
    const desired = row === undefined ? undefined : desiredContact(row, deps.config);
    if (desired?.kind === "contact") compareContact(brevo, desired.state, deps.config, report.vsDesired);
    if (fields.length > 0) report.drifted++;
    if (fields.length > 0 && report.examples.length < 10) report.examples.push(`${extId}: ${fields.join(", ")}`);
  }
  return report;
}

/** GET /contacts/{ext_id}?identifierType=ext_id; undefined on 404. Plain fetch, like the self-test. */
export function brevoContactReader(opts: { baseUrl: string; apiKey: string; fetch?: typeof fetch }) {
  const f = opts.fetch ?? fetch;
  return async (extId: string): Promise<BrevoContactView | undefined> => {
    for (let attempt = 0; ; attempt++) {
      const response = await f(
        `${opts.baseUrl.replace(/\/$/, "")}/contacts/${encodeURIComponent(extId)}?identifierType=ext_id`,
        { headers: { "api-key": opts.apiKey, accept: "application/json" } },
      );
      if (response.status === 404) return undefined;
      if (response.status === 429 && attempt < 5) {
        await response.text();
        const reset = Math.max(1, Number(response.headers.get("x-sib-ratelimit-reset") ?? 1));
        await new Promise((r) => setTimeout(r, reset * 1000));
        continue;
      }
      if (!response.ok) throw new Error(`GET /contacts/${extId}: HTTP ${response.status}`);
      const c = (await response.json()) as { email?: string; attributes?: Record<string, unknown>; listIds?: number[] };
      return { email: c.email ?? null, attributes: c.attributes ?? {}, listIds: c.listIds ?? [] };
    }
  };
}

export const formatDrift = (r: DriftReport): string =>
  [
    `sampled ${r.sampled} contacts; drifted: ${r.drifted} (missing in Brevo: ${r.missing})`,
    `drift vs last pushed: ${Object.keys(r.vsPushed).length === 0 ? "none" : JSON.stringify(r.vsPushed)}`,
    `drift vs desired:     ${Object.keys(r.vsDesired).length === 0 ? "none" : JSON.stringify(r.vsDesired)}`,
    ...r.examples.map((e) => `  ${e}`),
  ].join("\n");
