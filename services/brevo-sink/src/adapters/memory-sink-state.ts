import type { ContactState } from "../domain/contact-state.ts";
import type { EventStatus, FailureInput, SinkState } from "./sink-state.ts";

/** SinkState in memory: unit tests and the benchmark. Copies on the way in and out, like a database. */
export function createMemorySinkState(): SinkState & {
  readonly pushed: Map<string, ContactState>;
  readonly failures: Map<string, FailureInput & { attempts: number }>;
  readonly ledger: Map<string, { status: EventStatus; detail?: string }>;
} {
  const pushed = new Map<string, ContactState>();
  const failures = new Map<string, FailureInput & { attempts: number }>();
  const ledger = new Map<string, { status: EventStatus; detail?: string }>();
  const cursors = new Map<string, string>();
  const copy = (s: ContactState): ContactState => structuredClone(s);
  return {
    pushed,
    failures,
    ledger,
    async loadPushed(extIds) {
      const out = new Map<string, ContactState>();
      for (const id of extIds) {
        const s = pushed.get(id);
        if (s) out.set(id, copy(s));
      }
      return out;
    },
    async savePushed(states) {
      for (const s of states) {
        pushed.set(s.extId, copy(s));
        failures.delete(s.extId);
      }
    },
    async recordFailures(list) {
      for (const f of list) failures.set(f.extId, { ...f, attempts: (failures.get(f.extId)?.attempts ?? 0) + 1 });
    },
    async failedExtIds(limit) {
      return [...failures.keys()].slice(0, limit);
    },
    async getCursor(name) {
      return cursors.get(name);
    },
    async setCursor(name, value) {
      cursors.set(name, value);
    },
    async claimEvent({ eventId }) {
      if (ledger.has(eventId)) return false;
      ledger.set(eventId, { status: "sending" });
      return true;
    },
    async settleEvent(eventId, status, detail) {
      ledger.set(eventId, detail === undefined ? { status } : { status, detail });
    },
    async releaseEvent(eventId) {
      ledger.delete(eventId);
    },
    async eventCounts() {
      const counts: Record<EventStatus, number> = { sending: 0, sent: 0, uncertain: 0, failed: 0 };
      for (const e of ledger.values()) counts[e.status]++;
      return counts;
    },
  };
}
