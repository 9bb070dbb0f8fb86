import type { ProjectionStore } from "../projection/projection-store.ts";
import type { ProjectionWrite } from "../store/customer-store.ts";
import type { LoadedFact } from "../store/fact-store.ts";
import { FACT_KINDS, type FactKind, type StoredFact } from "../store/tables.ts";

/**
 * The Postgres store's semantics over maps, for unit tests of the incremental fold: facts go
 * through a JSON round trip (as jsonb does) and the owner columns are derived from the winner.
 */
export function createMemoryProjectionStore() {
  const facts = new Map<FactKind, Map<string, string>>(FACT_KINDS.map((k) => [k, new Map()]));
  const rows = new Map<string, ProjectionWrite>();
  const failures = new Map<string, string>();
  // Versions are not modelled: one writer at a time (the concurrency is tested against Postgres).
  const parse = (kind: FactKind, id: string, text: string): LoadedFact => ({
    kind,
    id,
    fact: JSON.parse(text),
    version: 1,
  });
  const owner = (text: string, field: string): unknown => (JSON.parse(text) as StoredFact).winner.data[field];
  const byOwner = (kind: FactKind, field: string, ids: readonly string[]): LoadedFact[] => {
    const wanted = new Set(ids);
    return [...(facts.get(kind) ?? [])]
      .filter(([, text]) => wanted.has(owner(text, field) as string))
      .map(([id, text]) => parse(kind, id, text));
  };
  const store: ProjectionStore = {
    async loadFactsById(ids) {
      const out: LoadedFact[] = [];
      for (const [kind, set] of ids) {
        for (const id of set) {
          const text = facts.get(kind)?.get(id);
          if (text !== undefined) out.push(parse(kind, id, text));
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
      for (const [kind, list] of writes) for (const w of list) facts.get(kind)?.set(w.id, JSON.stringify(w.fact));
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
