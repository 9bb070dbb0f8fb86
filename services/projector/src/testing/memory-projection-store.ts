import { toReadModelRow } from "../domain/index.ts";
import type { ProjectionStore } from "../projection/projection-store.ts";
import type { ProjectionWrite } from "../store/customer-store.ts";
import { ConcurrentFactWrite, type LoadedFact } from "../store/fact-store.ts";
import { FACT_KINDS, type FactKind, ownerOf, type StoredFact } from "../store/tables.ts";

interface Stored {
  readonly text: string;
  /** Moved by every write, as fact tables' version column. */
  readonly version: number;
}

/**
 * The Postgres store's semantics over maps, for unit tests of the incremental fold: facts go
 * through a JSON round trip (as jsonb does), the owner columns are derived from the winner, and
 * a write naming a version other than the stored one is refused (ConcurrentFactWrite).
 */
export function createMemoryProjectionStore() {
  const facts = new Map<FactKind, Map<string, Stored>>(FACT_KINDS.map((k) => [k, new Map()]));
  const rows = new Map<string, ProjectionWrite>();
  const failures = new Map<string, string>();
  const parse = (kind: FactKind, id: string, stored: Stored): LoadedFact => ({
    kind,
    id,
    fact: JSON.parse(stored.text),
    version: stored.version,
  });
  const byOwner = (kind: FactKind, field: "customer" | "charge", ids: readonly string[]): LoadedFact[] => {
    const wanted = new Set(ids);
    return [...(facts.get(kind) ?? [])]
      .filter(([, stored]) => wanted.has(ownerOf(JSON.parse(stored.text) as StoredFact, field) ?? ""))
      .map(([id, stored]) => parse(kind, id, stored));
  };
  const store: ProjectionStore = {
    async loadFactsById(ids) {
      const out: LoadedFact[] = [];
      for (const [kind, set] of ids) {
        for (const id of set) {
          const stored = facts.get(kind)?.get(id);
          if (stored !== undefined) out.push(parse(kind, id, stored));
        }
      }
      return out;
    },
    async loadFactsOfCustomers(ids) {
      return [
        ...(await store.loadFactsById(new Map([["customer", new Set(ids)]]))),
        ...byOwner("charge", "customer", ids),
        ...byOwner("invoice", "customer", ids),
        ...byOwner("subscription", "customer", ids),
      ];
    },
    async loadFactsOfCharges(ids) {
      return [...byOwner("refund", "charge", ids), ...byOwner("dispute", "charge", ids)];
    },
    async customersReferencing(refs) {
      const wanted = new Set(refs);
      return [...rows.values()].filter((r) => r.catalogRefs.some((x) => wanted.has(x))).map((r) => r.model.customerId);
    },
    async writeFacts(writes) {
      // Version checks as in Postgres (fact-store.ts): a write names the version it folded onto.
      let refused = 0;
      for (const [kind, list] of writes) {
        for (const w of list) {
          const version = facts.get(kind)?.get(w.id)?.version ?? 0;
          if (w.expected !== undefined && w.expected !== version) refused++;
        }
      }
      if (refused > 0) throw new ConcurrentFactWrite(refused);
      for (const [kind, list] of writes) {
        for (const w of list) {
          const table = facts.get(kind);
          table?.set(w.id, { text: JSON.stringify(w.fact), version: (table.get(w.id)?.version ?? 0) + 1 });
        }
      }
    },
    async writeProjections(writes) {
      for (const w of writes) rows.set(w.model.customerId, JSON.parse(JSON.stringify(w)) as ProjectionWrite);
    },
    async deleteProjections(ids) {
      for (const id of ids) rows.delete(id);
    },
    async recordDeriveOutcomes(failed, derived) {
      for (const f of failed) failures.set(f.customerId, f.reason);
      for (const id of derived) failures.delete(id);
    },
  };
  return { store, rows, facts, failures };
}

/** The read-model rows a memory store holds, by customer id (what `readModels(foldAll(…))` gives). */
export const memoryRows = (rows: Map<string, ProjectionWrite>) =>
  [...rows.values()].map((w) => toReadModelRow(w.model)).sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1));
