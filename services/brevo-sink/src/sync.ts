import { createLogThrottle, type Logger } from "@sbs/shared";
import type { BrevoTransport } from "./adapters/brevo-transport.ts";
import type { Clock } from "./adapters/clock.ts";
import type { EventSource } from "./adapters/event-source.ts";
import type { ProjectionSource } from "./adapters/projection-source.ts";
import { FencedError, type SinkState } from "./adapters/sink-state.ts";
import type { ContactState } from "./domain/contact-state.ts";
import { desiredContact } from "./domain/desired.ts";
import { type DiffResult, diffContact, repairContact } from "./domain/diff.ts";
import { nonOwners } from "./domain/email-owner.ts";
import { decideEvent, type SinkEvent } from "./domain/events.ts";
import { guestLists } from "./domain/guest.ts";
import type { CustomerReadModel } from "./domain/read-model.ts";
import type { SinkConfig } from "./domain/sink-config.ts";
import { type Push, type PushOptions, pushBulk, pushIncremental } from "./push.ts";
import { awaitUnconfirmedImports } from "./unconfirmed-imports.ts";

/**
 * One sync pass: every projection change since the cursor, then the contacts Brevo refused
 * before, then custom events. Per page: diff against the last pushed state, push, record what Brevo
 * confirmed, then move the cursor. A crash anywhere re-runs the page; set-only commands make
 * the re-send harmless.
 *
 * Fencing (leader.ts): with `fence`, the pass checks before each Brevo batch that the lease still
 * has its epoch, and every bookkeeping write commits only under that epoch. A pass that lost the
 * lead mid-batch cannot record what it sent; it forgets the bookkeeping of every contact of that
 * batch and queues them for a retry, so the current leader pushes them whole again afterwards and
 * Brevo ends at the desired state even if the two passes' writes landed in the wrong order.
 */

export interface SyncDeps {
  readonly config: SinkConfig;
  readonly source: ProjectionSource;
  readonly events: EventSource;
  readonly state: SinkState;
  readonly transport: BrevoTransport;
  readonly logger: Logger;
  readonly clock: Clock;
}

export interface SyncOptions extends PushOptions {
  /** Changed contacts in one page from which the page goes through /contacts/import. */
  readonly bulkThreshold: number;
  readonly pageSize: number;
  /** `resync`: diff every customer from the start, ignoring the change cursor. */
  readonly mode: "incremental" | "resync";
  /** Force one transport (benchmarks): otherwise chosen per page by bulkThreshold. */
  readonly forceMode?: "bulk" | "incremental";
  /** Called after Brevo accepted an event and before the ledger says so (crash tests). */
  readonly onEventSent?: (eventId: string) => void;
  /** The leader's epoch (leader.ts); without it, writes are not fenced (single-instance tools, tests). */
  readonly fence?: number;
}

export interface SyncReport {
  customers: number;
  unchanged: number;
  skippedNoEmail: number;
  pushed: number;
  failed: number;
  bulkPages: number;
  events: { sent: number; duplicate: number; skipped: number; uncertain: number; failed: number };
}

export const PROJECTION_CURSOR = "projection";
export const EVENTS_CURSOR = "events";
export const EVENTS_WATERMARK = "events_watermark";

export async function syncOnce(deps: SyncDeps, options: SyncOptions): Promise<SyncReport> {
  const report: SyncReport = {
    customers: 0,
    unchanged: 0,
    skippedNoEmail: 0,
    pushed: 0,
    failed: 0,
    bulkPages: 0,
    events: { sent: 0, duplicate: 0, skipped: 0, uncertain: 0, failed: 0 },
  };
  // Fix the events watermark before the first contact push: everything older is history.
  const watermark = await eventsWatermark(deps);
  // Refusals from earlier passes only: this pass's own would fail the same way again.
  const retryIds = await deps.state.failedExtIds(options.pageSize);

  const stored = options.mode === "resync" ? undefined : await deps.state.getCursor(PROJECTION_CURSOR);
  let cursor = stored !== undefined && deps.source.rewind ? deps.source.rewind(stored) : stored;
  for (;;) {
    const page = await deps.source.changedSince(cursor, options.pageSize);
    if (page.rows.length === 0) break;
    await syncRows(deps, options, page.rows, report);
    cursor = page.cursor;
    if (cursor !== undefined) await deps.state.setCursor(PROJECTION_CURSOR, cursor, options.fence);
    if (page.rows.length < options.pageSize) break;
  }

  // After the changes: a change may have freed what a refused contact needs (an email moved away).
  if (retryIds.length > 0) {
    deps.logger.info({ contacts: retryIds.length }, "retrying contacts Brevo refused before");
    const repair = new Set(retryIds.filter((r) => r.repair).map((r) => r.extId));
    await syncRows(deps, options, await deps.source.byIds(retryIds.map((r) => r.extId)), report, repair);
  }

  await syncEvents(deps, options, watermark, report);
  return report;
}

/** Diffs rows against what was last pushed; pure apart from the state lookups. */
export async function diffRows(
  deps: Pick<SyncDeps, "config" | "state">,
  rows: readonly CustomerReadModel[],
  repair: ReadonlySet<string> = new Set(),
  /** The rows' in-flight marks when the caller has read them already (SinkState.inFlight). */
  marks?: ReadonlyMap<string, number | null>,
): Promise<
  { extId: string; result: DiffResult; previous: ContactState | undefined; row: CustomerReadModel; repaired: boolean }[]
> {
  const ids = rows.map((r) => r.customerId);
  const [pushed, inFlight] = await Promise.all([deps.state.loadPushed(ids), marks ?? deps.state.inFlight(ids)]);
  const managed = deps.config.lists.map((l) => l.listId);
  return rows.map((row) => {
    const previous = pushed.get(row.customerId);
    const desired = desiredContact(row, deps.config);
    // Touched by a fenced pass, or by a write of ours nobody confirmed: Brevo's state is unknown and
    // the bookkeeping is no guide, so set everything the sink manages.
    const repaired = repair.has(row.customerId) || inFlight.has(row.customerId);
    return {
      extId: row.customerId,
      result: repaired
        ? repairContact(desired, managed, deps.config.deletedPolicy)
        : diffContact(desired, previous, deps.config.deletedPolicy, deps.config.consent.marketingLists),
      previous,
      row,
      repaired,
    };
  });
}

/** Throws FencedError when another instance took the lead since this pass started. */
export async function checkLease(state: Pick<SinkState, "leaseEpoch">, fence: number | undefined): Promise<void> {
  if (fence === undefined) return;
  const current = await state.leaseEpoch();
  if (current !== fence) throw new FencedError(fence, current);
}

async function syncRows(
  deps: SyncDeps,
  options: SyncOptions,
  rows: readonly CustomerReadModel[],
  report: SyncReport,
  repair: ReadonlySet<string> = new Set(),
) {
  const inFlight = await deps.state.inFlight(rows.map((r) => r.customerId));
  await awaitUnconfirmedImports(deps, inFlight);
  const diffs = await diffRows(deps, rows, repair, inFlight);
  const pushes: Push[] = [];
  // Shared emails: the oldest customer pushing one owns it and goes first (email-owner.ts).
  const waiting = nonOwners(
    diffs.flatMap((d) =>
      d.result.kind === "push" ? [{ extId: d.extId, email: d.result.next.email, createdAt: d.row.createdAt }] : [],
    ),
  );
  for (const { result, previous, extId } of diffs) {
    report.customers++;
    if (result.kind === "noop") report.unchanged++;
    else if (result.kind === "skip") report.skippedNoEmail++;
    else
      pushes.push({
        command: result.command,
        next: result.next,
        ...(previous === undefined ? {} : { previous }),
        ...(waiting.has(extId) ? { waitsForOwner: true } : {}),
      });
  }
  const nothingToWrite = diffs.filter((d) => d.repaired && d.result.kind !== "push").map((d) => d.extId);
  await deps.state.clearInFlight(nothingToWrite, options.fence);
  if (pushes.length === 0) return;
  const bulk = options.forceMode === undefined ? pushes.length >= options.bulkThreshold : options.forceMode === "bulk";
  if (bulk) report.bulkPages++;
  const checkpoint = () => checkLease(deps.state, options.fence);
  // Before the first Brevo call (and fenced like any write): see SinkState.markInFlight.
  await deps.state.markInFlight(
    pushes.map((p) => p.next.extId),
    options.fence,
  );
  let result: Awaited<ReturnType<typeof pushBulk>>;
  try {
    const pushOptions = {
      ...options,
      checkpoint,
      onImportStarted: (processId: number, extIds: readonly string[]) => deps.state.noteImport(extIds, processId),
    };
    result = bulk
      ? await pushBulk(deps.transport, pushes, pushOptions)
      : await pushIncremental(deps.transport, pushes, pushOptions);
    // Bookkeeping strictly after Brevo's confirmation, and only while this pass still leads.
    // Fenced marks go only with a repair that read them before it pushed (see discardPushed).
    await deps.state.savePushed(
      result.confirmed,
      options.fence,
      [...repair].filter((id) => result.confirmed.some((c) => c.extId === id)),
    );
    await deps.state.recordFailures(result.failed, options.fence);
  } catch (error) {
    if (error instanceof FencedError) {
      // Some of this batch reached Brevo, maybe after the new leader's writes: make it push them again.
      await deps.state.discardPushed(
        pushes.map((p) => p.next.extId),
        "pushed by a pass that lost the lead (fenced)",
      );
      deps.logger.warn({ contacts: pushes.length, err: error }, "fenced: lost the lead mid-pass; batch discarded");
    }
    throw error;
  }
  report.pushed += result.confirmed.length;
  report.failed += result.failed.length;
  for (const f of result.failed)
    deps.logger.warn({ extId: f.extId, code: f.code, reason: f.reason }, "Brevo refused contact");
}

/** Events older than this (unix seconds) are history: config `send_after`, else the sink's first run. */
export async function eventsWatermark(deps: Pick<SyncDeps, "config" | "state" | "clock">): Promise<number> {
  if (deps.config.events.sendAfter !== undefined) return deps.config.events.sendAfter;
  const stored = await deps.state.getCursor(EVENTS_WATERMARK);
  if (stored !== undefined) return Number(stored);
  const now = Math.floor(deps.clock.now() / 1000);
  await deps.state.setCursor(EVENTS_WATERMARK, String(now));
  return now;
}

export type EventsReport = SyncReport["events"];

/** One warning a minute per reason for custom events that were recorded as failed. */
const unsentWarnings = createLogThrottle(60_000);
const warnUnsent = (logger: Logger, reason: string, eventName: string) =>
  unsentWarnings(reason, (suppressed) =>
    logger.warn(
      { reason, eventName, suppressed },
      reason === "no_contact"
        ? "custom event not sent: the customer has no Brevo contact (no email, refused or deleted); see pnpm cli status"
        : "custom event refused by Brevo; not re-sent; see pnpm cli status",
    ),
  );

export const emptyEventsReport = (): EventsReport => ({ sent: 0, duplicate: 0, skipped: 0, uncertain: 0, failed: 0 });

async function syncEvents(deps: SyncDeps, options: SyncOptions, watermark: number, report: SyncReport) {
  let cursor = await deps.state.getCursor(EVENTS_CURSOR);
  for (;;) {
    const page = await deps.events.since(cursor, options.pageSize);
    if (page.events.length === 0) break;
    await sendEvents(deps, page.events, watermark, report.events, options);
    cursor = page.cursor;
    if (cursor !== undefined) await deps.state.setCursor(EVENTS_CURSOR, cursor);
    if (page.events.length < options.pageSize) break;
  }
}

/**
 * Sends each event that becomes a Brevo event at most once: claimed in the ledger before the
 * call, settled after it, never re-sent whatever happened in between. Resolves once the ledger
 * holds every event's outcome (callers move their position only then); throws, with the event
 * released, only when the call provably never reached Brevo.
 */
export async function sendEvents(
  deps: Pick<SyncDeps, "config" | "state" | "transport" | "logger">,
  events: readonly SinkEvent[],
  watermark: number,
  report: EventsReport,
  options: Pick<SyncOptions, "onEventSent"> = {},
): Promise<void> {
  const contacts = await deps.state.loadPushed([...new Set(events.map((e) => e.customerId))]);
  for (const event of events) {
    const decision = decideEvent(event, deps.config, watermark);
    if (!decision.send) {
      report.skipped++;
      continue;
    }
    const contact = contacts.get(event.customerId);
    if (
      !(await deps.state.claimEvent({
        eventId: event.id,
        customerId: event.customerId,
        eventName: decision.request.event_name,
      }))
    ) {
      report.duplicate++;
      continue;
    }
    if (event.guestEmail !== undefined) {
      // A guest has no pushed contact: it is made here, by email (domain/guest.ts).
      let ensured: Awaited<ReturnType<BrevoTransport["upsertGuest"]>>;
      try {
        ensured = await deps.transport.upsertGuest(
          event.guestEmail,
          guestLists(event.object, deps.config.consent.marketingLists),
        );
      } catch (error) {
        await deps.state.releaseEvent(event.id);
        throw error;
      }
      if (!ensured.ok) {
        await deps.state.settleEvent(event.id, "failed", `guest contact: HTTP ${ensured.status} ${ensured.code}`);
        warnUnsent(deps.logger, `guest contact HTTP ${ensured.status} ${ensured.code}`, decision.request.event_name);
        report.failed++;
        continue;
      }
    } else if (contact === undefined || contact.deleted) {
      // No Brevo contact to attach it to (no email, refused, deleted): recorded, not sent.
      await deps.state.settleEvent(event.id, "failed", "no_contact");
      warnUnsent(deps.logger, "no_contact", decision.request.event_name);
      report.skipped++;
      continue;
    }
    let outcome: Awaited<ReturnType<BrevoTransport["createEvent"]>>;
    try {
      outcome = await deps.transport.createEvent(decision.request);
    } catch (error) {
      // Thrown only after retries of calls that never reached Brevo (429s, refused connections).
      await deps.state.releaseEvent(event.id);
      throw error;
    }
    if (outcome.ok) {
      options.onEventSent?.(event.id);
      await deps.state.settleEvent(event.id, "sent");
      report.sent++;
    } else if ("uncertain" in outcome) {
      await deps.state.settleEvent(event.id, "uncertain", outcome.message);
      report.uncertain++;
      deps.logger.warn({ eventId: event.id }, "Brevo event may or may not have been recorded; not re-sent");
    } else {
      await deps.state.settleEvent(event.id, "failed", `HTTP ${outcome.status} ${outcome.code}: ${outcome.message}`);
      warnUnsent(deps.logger, `HTTP ${outcome.status} ${outcome.code}`, decision.request.event_name);
      report.failed++;
    }
  }
}
