import type { ContactState } from "../domain/contact-state.ts";
import { retryDelayMs } from "../domain/parking.ts";
import { type EventStatus, type FailureInput, FencedError, type SinkState } from "./sink-state.ts";

/** SinkState in memory: unit tests and the benchmark. Copies on the way in and out, like a database. */
export function createMemorySinkState(now: () => number = Date.now): SinkState & {
  readonly pushed: Map<string, ContactState>;
  readonly failures: Map<string, FailureInput & { attempts: number; nextAttemptAt: number }>;
  readonly ledger: Map<string, { status: EventStatus; detail?: string }>;
  readonly inFlightMarks: Map<string, { since: number; processId: number | null }>;
} {
  const pushed = new Map<string, ContactState>();
  const failures = new Map<string, FailureInput & { attempts: number; nextAttemptAt: number }>();
  const ledger = new Map<string, { status: EventStatus; detail?: string }>();
  const cursors = new Map<string, string>();
  /** ext_id → when it was marked and its import; insertion order is the retry order. */
  const inFlightMarks = new Map<string, { since: number; processId: number | null }>();
  let epoch: number | undefined;
  const copy = (s: ContactState): ContactState => structuredClone(s);
  const fenced = (fence: number | undefined) => {
    if (fence !== undefined && fence !== epoch) throw new FencedError(fence, epoch);
  };
  return {
    pushed,
    failures,
    ledger,
    inFlightMarks,
    async loadPushed(extIds) {
      const out = new Map<string, ContactState>();
      for (const id of extIds) {
        const s = pushed.get(id);
        if (s) out.set(id, copy(s));
      }
      return out;
    },
    async savePushed(states, fence, repaired = []) {
      fenced(fence);
      for (const s of states) {
        pushed.set(s.extId, copy(s));
        inFlightMarks.delete(s.extId);
        if (failures.get(s.extId)?.code !== "fenced" || repaired.includes(s.extId)) failures.delete(s.extId);
      }
    },
    async recordFailures(list, fence) {
      fenced(fence);
      for (const f of list) {
        const attempts = (failures.get(f.extId)?.attempts ?? 0) + 1;
        failures.set(f.extId, { ...f, attempts, nextAttemptAt: now() + retryDelayMs(attempts) });
      }
    },
    async failedExtIds(limit) {
      const t = now();
      const due = [...failures.values()]
        .filter((f) => f.nextAttemptAt <= t)
        .map((f) => ({ extId: f.extId, repair: f.code === "fenced" }));
      const marked = [...inFlightMarks.keys()]
        .filter((id) => !failures.has(id))
        .map((extId) => ({ extId, repair: false }));
      return [...due, ...marked].slice(0, limit);
    },
    async markInFlight(extIds, fence) {
      fenced(fence);
      for (const id of extIds) if (!inFlightMarks.has(id)) inFlightMarks.set(id, { since: now(), processId: null });
    },
    async noteImport(extIds, processId) {
      for (const id of extIds) {
        const mark = inFlightMarks.get(id);
        if (mark) mark.processId = processId;
      }
    },
    async inFlight(extIds) {
      const out = new Map<string, number | null>();
      for (const id of extIds) {
        const mark = inFlightMarks.get(id);
        if (mark) out.set(id, mark.processId);
      }
      return out;
    },
    async clearInFlight(extIds, fence) {
      fenced(fence);
      for (const id of extIds) inFlightMarks.delete(id);
    },
    async discardPushed(extIds, reason) {
      for (const id of extIds) {
        failures.set(id, {
          extId: id,
          code: "fenced",
          reason,
          attempts: failures.get(id)?.attempts ?? 0,
          nextAttemptAt: now(),
        });
      }
    },
    async samplePushed(n) {
      const ids = [...pushed.values()].filter((s) => !s.deleted).map((s) => s.extId);
      for (let i = ids.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
      }
      return ids.slice(0, n);
    },
    async acquireLease() {
      epoch = (epoch ?? 0) + 1;
      return epoch;
    },
    async leaseEpoch() {
      return epoch;
    },
    async getCursor(name) {
      return cursors.get(name);
    },
    async setCursor(name, value, fence) {
      fenced(fence);
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
