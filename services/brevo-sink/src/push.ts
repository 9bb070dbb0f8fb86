import { isRetriable } from "@sbs/shared";
import type { BrevoTransport, ContactBody, ImportRow, RecordOutcome } from "./adapters/brevo-transport.ts";
import { MAX_LIST_IDENTIFIERS } from "./adapters/brevo-transport.ts";
import type { FailureInput } from "./adapters/sink-state.ts";
import type { ContactState } from "./domain/contact-state.ts";
import type { ContactCommand } from "./domain/diff.ts";
import type { AttributeValue } from "./domain/fields.ts";

/**
 * Executes diff commands against Brevo and reports, per contact, either the state Brevo
 * confirmed or a permanent refusal. Nothing here writes bookkeeping: the caller records
 * `confirmed` only after this returns, so a crash in between causes a re-send, never a loss.
 * A contact whose calls keep failing transiently (5xx, timeouts past the retries) is reported as
 * failed (`unavailable`) so the others go on and the cursor moves; only when nothing gets through
 * at all (Brevo down) does the push throw, and then the run stops with its cursor where it was.
 */

export interface Push {
  readonly command: ContactCommand;
  readonly next: ContactState;
  /** What was last pushed, when anything was: the email Brevo keeps if the new one is taken. */
  readonly previous?: ContactState;
  /** Shares its email with an older customer pushed in the same batch (email-owner.ts): goes after it. */
  readonly waitsForOwner?: boolean;
}

export interface PushResult {
  readonly confirmed: ContactState[];
  readonly failed: FailureInput[];
}

export interface PushOptions {
  /** Per-contact calls in flight; the limiter still paces them. */
  readonly concurrency: number;
  /** Import payloads stay below Brevo's 10 MB cap with a margin (Brevo recommends ~8 MB). */
  readonly importMaxBytes: number;
  /** Called after Brevo confirmed a contact and before the caller records it (crash tests). */
  readonly onConfirmed?: (extId: string) => void;
  /** Called before each batch of Brevo calls; throws to stop (the leader's fencing check). */
  readonly checkpoint?: () => Promise<void>;
  /** Called once Brevo accepted an import, before it is polled (SinkState.noteImport). */
  readonly onImportStarted?: (processId: number, extIds: readonly string[]) => Promise<void>;
}

/** A pushed state Brevo confirmed, possibly not the whole of it (an email kept, see pushOne). */
type Outcome = RecordOutcome | { readonly ok: true; readonly state: ContactState };

// Brevo clears an attribute given an empty value (ASSUMPTION, for every attribute type).
const wire = (attributes: Readonly<Record<string, AttributeValue | null>>): Record<string, AttributeValue | ""> => {
  const out: Record<string, AttributeValue | ""> = {};
  for (const [k, v] of Object.entries(attributes)) out[k] = v ?? "";
  return out;
};
const nonNull = (attributes: Readonly<Record<string, AttributeValue | null>>): Record<string, AttributeValue> => {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== null) out[k] = v;
  return out;
};

/** The whole desired contact, for creating it (or re-creating one someone deleted in Brevo). */
const fullBody = (next: ContactState): ContactBody => ({
  ...(next.email === null ? {} : { email: next.email }),
  attributes: nonNull(next.attributes),
  listIds: next.lists,
});

async function pushOne(transport: BrevoTransport, { command, next, previous }: Push): Promise<Outcome> {
  switch (command.kind) {
    case "create": {
      const created = await transport.upsertContact(command.extId, fullBody(next));
      if (!created.ok || command.removeLists === undefined) return created;
      // The contact may have existed by email (a guest's, in marketing lists): leave those.
      return transport.updateContact(command.extId, { attributes: {}, unlinkListIds: command.removeLists });
    }
    case "update": {
      const body = {
        attributes: wire(command.attributes),
        listIds: command.addLists,
        unlinkListIds: command.removeLists,
      };
      const outcome = await transport.updateContact(command.extId, {
        ...(command.email === undefined ? {} : { email: command.email }),
        ...body,
      });
      // Gone from Brevo (deleted by hand, or never created): create it whole.
      if (!outcome.ok && outcome.status === 404) return transport.upsertContact(command.extId, fullBody(next));
      if (!outcome.ok && outcome.code === "duplicate_parameter" && command.email !== undefined) {
        // The new email belongs to another contact: Brevo refused the whole PUT. Apply the rest
        // (lists, attributes: a churned customer still leaves "subscribers") and keep the old email;
        // the bookkeeping records the old one, so a later change or resync tries the email again.
        const again = await transport.updateContact(command.extId, body);
        return again.ok ? { ok: true, state: { ...next, email: previous?.email ?? null } } : again;
      }
      return outcome;
    }
    case "delete":
      return transport.deleteContact(command.extId);
    default: {
      const never: never = command;
      return never;
    }
  }
}

const describeFailure = (o: Exclude<RecordOutcome, { ok: true }>): string =>
  o.code === "duplicate_parameter"
    ? // Email collision policy: the contact that owns the email in Brevo keeps it; this customer's
      // contact waits in the failures table until the email is free (retried every run).
      `email or phone already belongs to another Brevo contact (HTTP ${o.status} ${o.code}: ${o.message})`
    : `HTTP ${o.status} ${o.code}: ${o.message}`;

/** One call per contact, keyed by ext_id, with per-record results. */
export async function pushIncremental(
  transport: BrevoTransport,
  pushes: readonly Push[],
  options: PushOptions,
): Promise<PushResult> {
  const confirmed: ContactState[] = [];
  const failed: FailureInput[] = [];
  // Brevo down, not one contact: a few transient give-ups and no success stop the push.
  const outage = { failures: 0, first: undefined as unknown };
  const isOutage = () => outage.failures >= 2 && confirmed.length === 0;
  const wave = async (list: readonly Push[]) => {
    if (list.length === 0) return;
    await options.checkpoint?.();
    let index = 0;
    const worker = async () => {
      while (index < list.length && !isOutage()) {
        const push = list[index++];
        if (push === undefined) break;
        let outcome: Outcome;
        try {
          outcome = await pushOne(transport, push);
        } catch (error) {
          if (!isRetriable(error)) throw error;
          outage.failures++;
          outage.first ??= error;
          failed.push({ extId: push.next.extId, code: "unavailable", reason: String((error as Error).message) });
          continue;
        }
        if (outcome.ok) {
          options.onConfirmed?.(push.next.extId);
          confirmed.push("state" in outcome ? outcome.state : push.next);
        } else {
          failed.push({
            extId: push.next.extId,
            code: outcome.code || `http_${outcome.status}`,
            reason: describeFailure(outcome),
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, list.length)) }, worker));
  };
  // Owners of shared emails first, the customers sharing them after (email-owner.ts).
  await wave(pushes.filter((p) => p.waitsForOwner !== true));
  await wave(pushes.filter((p) => p.waitsForOwner === true));
  if (isOutage()) throw outage.first;
  return { confirmed, failed };
}

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const hasAttributeChange = (c: ContactCommand): boolean =>
  c.kind === "create" || (c.kind === "update" && (c.email !== undefined || Object.keys(c.attributes).length > 0));

/**
 * Bulk: contacts to create, with attribute changes or joining lists go through /contacts/import
 * (asynchronous; one request per group of contacts imported into the same lists, plus polling);
 * list removals through list calls of at most 150 ext_ids (Brevo's import has no way to leave a
 * list: `requestContactImport` has `listIds` only). Whatever the bulk path cannot confirm per record
 * (import failure reports) is pushed again one by one, which gives a definitive per-record answer.
 */
export async function pushBulk(
  transport: BrevoTransport,
  pushes: readonly Push[],
  options: PushOptions,
): Promise<PushResult> {
  const oneByOne = new Set<Push>();
  const importing: Push[] = [];
  for (const p of pushes) {
    // Deletions, and customers sharing an older customer's email (after the imports settled the owner).
    if (p.command.kind === "delete" || p.waitsForOwner === true) oneByOne.add(p);
    else if (hasAttributeChange(p.command) || (p.command.kind === "update" && p.command.addLists.length > 0)) {
      // Import needs list ids: contacts in no list at all go one by one.
      if (p.next.lists.length === 0) oneByOne.add(p);
      else importing.push(p);
    }
  }
  const imports = importGroups(importing);

  const retry = new Set<Push>();
  // Imports: each group into lists every member must be in and the new ones must join (see
  // importGroups); removals are list calls, sent while Brevo processes the imports.
  // All chunks are submitted first, then polled together: the process endpoints allow ~100/h.
  const chunks = [...imports.values()].flatMap((group) => importChunks(group, options.importMaxBytes));
  const started: { id: number; rows: { push: Push; row: ImportRow }[] }[] = [];
  for (const { lists, rows } of chunks) {
    await options.checkpoint?.();
    const id = await transport.startImport(
      rows.map((r) => r.row),
      lists,
    );
    started.push({ id, rows });
    await options.onImportStarted?.(
      id,
      rows.map((r) => r.push.next.extId),
    );
  }
  // While Brevo processes the imports: removals do not depend on their outcome.
  await options.checkpoint?.();
  await removeFromLists(transport, pushes, oneByOne);
  const results = await transport.awaitProcesses(started.map((s) => s.id));
  // Created contacts leave the marketing lists they may hold as a guest's contact: by ext_id,
  // which the import has just set (so only now, not while it ran).
  await options.checkpoint?.();
  await removeFromLists(transport, pushes, oneByOne, "create");
  for (const { id, rows } of started) {
    // The failure report: CSV files behind URLs. Fail closed: a report that cannot be fully read
    // sends the whole chunk again one by one, which gives a definitive per-record answer.
    const report = await transport.readImportReport(results.get(id)?.importInfo ?? {});
    for (const { push } of rows) {
      if (
        !report.ok ||
        report.named.has(push.next.extId) ||
        (push.next.email !== null && report.named.has(push.next.email))
      ) {
        retry.add(push);
      }
    }
  }

  const again = await pushIncremental(transport, [...oneByOne, ...retry], options);
  const confirmed = [...again.confirmed];
  for (const p of pushes) {
    if (oneByOne.has(p) || retry.has(p)) continue;
    options.onConfirmed?.(p.next.extId);
    confirmed.push(p.next);
  }
  return { confirmed, failed: again.failed };
}

/** List removals, in calls of at most 150 ext_ids per list. */
async function removeFromLists(
  transport: BrevoTransport,
  pushes: readonly Push[],
  skip: ReadonlySet<Push>,
  kind: "update" | "create" = "update",
) {
  const removes = new Map<number, Push[]>();
  for (const p of pushes) {
    if (p.command.kind !== kind || skip.has(p)) continue;
    for (const id of p.command.removeLists ?? []) {
      const members = removes.get(id) ?? [];
      members.push(p);
      removes.set(id, members);
    }
  }
  for (const [listId, members] of removes) {
    for (const part of chunk(members, MAX_LIST_IDENTIFIERS)) {
      // A removal "failure" means already out of the list or no such contact: the goal state either way.
      await transport.changeList(
        listId,
        "remove",
        part.map((p) => p.next.extId),
      );
    }
  }
}

/**
 * Groups contacts for /contacts/import, whose `listIds` apply to every row. A contact must be
 * imported into every list it newly joins (all its lists when created) and may only be imported
 * into lists it belongs in (adding a member again is harmless). Contacts joining the same lists
 * share a group; contacts joining none (attribute changes only) join the largest group whose lists
 * they all belong in, else share the list most of them are in. Fewer groups, fewer imports and
 * process polls: a rebuild that moves a quarter of the contacts costs 2 imports, not one per
 * combination of lists.
 */
export function importGroups(pushes: readonly Push[]): Map<string, { lists: number[]; members: Push[] }> {
  const joins = (p: Push): readonly number[] =>
    p.command.kind === "create" ? p.next.lists : p.command.kind === "update" ? p.command.addLists : [];
  const groups = new Map<string, { lists: number[]; members: Push[] }>();
  const add = (lists: readonly number[], p: Push) => {
    const sorted = [...lists].sort((a, b) => a - b);
    const key = sorted.join(",");
    const group = groups.get(key) ?? { lists: sorted, members: [] };
    group.members.push(p);
    groups.set(key, group);
  };
  let free: Push[] = [];
  for (const p of pushes) {
    const j = joins(p);
    if (j.length > 0) add(j, p);
    else free.push(p);
  }
  const fixed = [...groups.values()].sort((a, b) => b.members.length - a.members.length);
  free = free.filter((p) => {
    const home = fixed.find((g) => g.lists.every((l) => p.next.lists.includes(l)));
    if (home === undefined) return true;
    home.members.push(p);
    return false;
  });
  while (free.length > 0) {
    const votes = new Map<number, number>();
    for (const p of free) for (const l of p.next.lists) votes.set(l, (votes.get(l) ?? 0) + 1);
    const best = [...votes].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
    if (best === undefined) break; // unreachable: every pushed contact here is in a list
    for (const p of free) if (p.next.lists.includes(best)) add([best], p);
    free = free.filter((p) => !p.next.lists.includes(best));
  }
  return groups;
}

function importChunks(
  group: { lists: number[]; members: readonly Push[] },
  maxBytes: number,
): { lists: number[]; rows: { push: Push; row: ImportRow }[] }[] {
  const out: { lists: number[]; rows: { push: Push; row: ImportRow }[] }[] = [];
  let current: { push: Push; row: ImportRow }[] = [];
  let size = 0;
  for (const push of group.members) {
    // The whole desired contact, clears included: one row costs the same request whatever its
    // width, and a full row also repairs a contact someone changed or deleted in Brevo.
    const attributes = { ...wire(push.next.attributes), EXT_ID: push.next.extId };
    const row: ImportRow = { email: push.next.email ?? "", attributes };
    const bytes = Buffer.byteLength(JSON.stringify(row)) + 1;
    if (current.length > 0 && size + bytes > maxBytes) {
      out.push({ lists: group.lists, rows: current });
      current = [];
      size = 0;
    }
    current.push({ push, row });
    size += bytes;
  }
  if (current.length > 0) out.push({ lists: group.lists, rows: current });
  return out;
}
