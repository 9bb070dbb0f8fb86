import { AppError } from "@sbs/shared";
import type { ContactState } from "../domain/contact-state.ts";

/** A contact Brevo refused, with Brevo's reason; retried on later runs (with backoff, see parking.ts). */
export interface FailureInput {
  readonly extId: string;
  readonly code: string;
  readonly reason: string;
}

export type EventStatus = "sending" | "sent" | "uncertain" | "failed";

/** The lease row the contact pusher's epoch lives in. */
export const CONTACTS_LEASE = "contacts";

/**
 * Thrown when a write carries an epoch that is no longer the lease's: another instance took the
 * lead since this pass started. Retriable: this instance simply stops pushing until it leads again.
 */
export class FencedError extends AppError {
  constructor(epoch: number, current: number | undefined) {
    super("sink_fenced", `lost the lead: this pass holds epoch ${epoch}, the lease is at ${current ?? "none"}`, {
      retriable: true,
    });
  }
}

/**
 * The sink's bookkeeping. Postgres in production (pg-sink-state.ts), memory in unit tests
 * (memory-sink-state.ts); both follow the same rules. `fence`: the epoch of the pass writing;
 * when given, the write happens only if the lease still has that epoch (else FencedError, nothing
 * written).
 */
export interface SinkState {
  loadPushed(extIds: readonly string[]): Promise<Map<string, ContactState>>;
  /**
   * Records states Brevo confirmed, clears their in-flight marks, and forgets their failures, except
   * `fenced` marks: those go only for the ext_ids in `repaired` (pushed whole by a pass that read the
   * mark, see discardPushed).
   */
  savePushed(states: readonly ContactState[], fence?: number, repaired?: readonly string[]): Promise<void>;
  /** Counts one more failed attempt per contact and schedules its next retry (parking.ts). */
  recordFailures(failures: readonly FailureInput[], fence?: number): Promise<void>;
  /**
   * Contacts to retry, oldest first: failures whose retry is due, and contacts an earlier pass left
   * marked in flight (unless parked). `repair`: a fenced mark, to be repaired whole (in-flight ones
   * are found by diffRows through inFlight, whichever way they come).
   */
  failedExtIds(limit: number): Promise<{ extId: string; repair: boolean }[]>;
  /**
   * Write-ahead mark, set before a pass writes these contacts to Brevo and cleared by savePushed once
   * Brevo confirmed them. A mark that outlives its write means an outcome nobody recorded (the sink
   * was killed while an import ran; a call timed out after Brevo applied it): Brevo may hold that
   * write whatever the bookkeeping says, so the contact is repaired whole (diff.ts repairContact),
   * not diffed against its last confirmed state. Found by the chaos soak: a contact kept a list an
   * unrecorded import had added.
   */
  markInFlight(extIds: readonly string[], fence?: number): Promise<void>;
  /**
   * Notes the Brevo import process that carries these contacts' in-flight write (`null`: it ended,
   * nothing to wait for). Never fenced: a pass that lost the lead has still started the import.
   */
  noteImport(extIds: readonly string[], processId: number | null): Promise<void>;
  /** The contacts among these that carry an in-flight mark, with the import process noted, if any. */
  inFlight(extIds: readonly string[]): Promise<Map<string, number | null>>;
  /** Drops in-flight marks of contacts a repair had nothing to write for (no email, nothing managed). */
  clearInFlight(extIds: readonly string[], fence?: number): Promise<void>;
  /**
   * A fenced pass touched these contacts in Brevo but may not record what it did, and its writes
   * may have landed after the leader's: mark them `fenced` (due now). The mark survives the
   * leader's own bookkeeping of the same contacts (that may predate the stale write); a later pass
   * reads it, repairs the contact whole (diff.ts repairContact) and only then clears it.
   * Never fenced itself: it only ever causes re-sends.
   */
  discardPushed(extIds: readonly string[], reason: string): Promise<void>;
  /** Up to n random ext_ids of contacts the sink pushed and did not delete (drift check). */
  samplePushed(n: number): Promise<string[]>;
  /** Takes the contacts lease: bumps and returns its epoch. Call once the leader lock is held. */
  acquireLease(holder: string): Promise<number>;
  leaseEpoch(): Promise<number | undefined>;
  getCursor(name: string): Promise<string | undefined>;
  setCursor(name: string, value: string, fence?: number): Promise<void>;
  /** Claims a Stripe event for sending; false when it was claimed before (whatever became of it). */
  claimEvent(event: { eventId: string; customerId: string; eventName: string }): Promise<boolean>;
  settleEvent(eventId: string, status: Exclude<EventStatus, "sending">, detail?: string): Promise<void>;
  /** The call provably did not reach Brevo (429, refused connection): the event may be sent later. */
  releaseEvent(eventId: string): Promise<void>;
  eventCounts(): Promise<Record<EventStatus, number>>;
}
