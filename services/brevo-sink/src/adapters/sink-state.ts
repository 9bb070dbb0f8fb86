import type { ContactState } from "../domain/contact-state.ts";

/** A contact Brevo refused, with Brevo's reason; retried on later runs. */
export interface FailureInput {
  readonly extId: string;
  readonly code: string;
  readonly reason: string;
}

export type EventStatus = "sending" | "sent" | "uncertain" | "failed";

/**
 * The sink's bookkeeping. Postgres in production (pg-sink-state.ts), memory in unit tests
 * (memory-sink-state.ts); both follow the same rules.
 */
export interface SinkState {
  loadPushed(extIds: readonly string[]): Promise<Map<string, ContactState>>;
  /** Records states Brevo confirmed, and forgets their failures. */
  savePushed(states: readonly ContactState[]): Promise<void>;
  recordFailures(failures: readonly FailureInput[]): Promise<void>;
  failedExtIds(limit: number): Promise<string[]>;
  getCursor(name: string): Promise<string | undefined>;
  setCursor(name: string, value: string): Promise<void>;
  /** Claims a Stripe event for sending; false when it was claimed before (whatever became of it). */
  claimEvent(event: { eventId: string; customerId: string; eventName: string }): Promise<boolean>;
  settleEvent(eventId: string, status: Exclude<EventStatus, "sending">, detail?: string): Promise<void>;
  /** The call provably did not reach Brevo (429, refused connection): the event may be sent later. */
  releaseEvent(eventId: string): Promise<void>;
  eventCounts(): Promise<Record<EventStatus, number>>;
}
