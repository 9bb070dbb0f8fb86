import type { RequestLogEntry } from "@sbs/brevo-sink/testing/fake-brevo";
import { canonicalJson } from "@sbs/projector/domain";

/**
 * Counts re-sends from the fake Brevo's request log: a contact write (upsert, update, import row)
 * whose payload is the same as the previous write the same contact received. A crash between a
 * Brevo call and the sink's bookkeeping, an apply-then-fail or a timeout must cause exactly that
 * (a re-send, never a loss); the figure says how often it happened. Fed incrementally, so the
 * harness can empty the fake's log as it goes (it would otherwise hold every import body).
 */
export interface ResendCounter {
  /** Consumes log entries; returns how many of them were re-sends. */
  add(entries: Iterable<RequestLogEntry>): number;
  readonly total: number;
  /** Contact writes seen (re-sends included). */
  readonly writes: number;
}

type Json = Record<string, unknown>;

function contactWrites(e: RequestLogEntry): { key: string; payload: string }[] {
  // Refused calls changed nothing; an apply-then-fail did (the fake applied, then answered 500).
  const applied = (e.status >= 200 && e.status < 300) || e.fault === "apply-then-fail";
  if (!applied) return [];
  const body = (e.requestBody ?? {}) as Json;
  switch (e.operation) {
    case "createContact":
      return [{ key: String(body["ext_id"] ?? body["email"]), payload: canonicalJson(body) }];
    case "updateContact":
      return [{ key: decodeURIComponent(e.path.split("/").pop() ?? ""), payload: canonicalJson(body) }];
    case "importContacts": {
      const rows = Array.isArray(body["jsonBody"]) ? (body["jsonBody"] as Json[]) : [];
      const lists = canonicalJson(body["listIds"] ?? null);
      return rows.map((row) => {
        const attributes = (row["attributes"] ?? {}) as Json;
        return { key: String(attributes["EXT_ID"] ?? row["email"]), payload: `${lists}|${canonicalJson(row)}` };
      });
    }
    default:
      return [];
  }
}

export function createResendCounter(): ResendCounter {
  const last = new Map<string, string>();
  let total = 0;
  let writes = 0;
  return {
    add(entries) {
      let found = 0;
      for (const e of entries) {
        for (const w of contactWrites(e)) {
          writes++;
          if (last.get(w.key) === w.payload) found++;
          last.set(w.key, w.payload);
        }
      }
      total += found;
      return found;
    },
    get total() {
      return total;
    },
    get writes() {
      return writes;
    },
  };
}
