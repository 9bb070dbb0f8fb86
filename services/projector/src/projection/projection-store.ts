import type { ClientBase } from "pg";
import {
  customersReferencing,
  type DeriveFailure,
  deleteProjections,
  type ProjectionWrite,
  recordDeriveOutcomes,
  writeProjections,
} from "../store/customer-store.ts";
import {
  type FactWrite,
  type LoadedFact,
  loadFactsById,
  loadFactsOfCharges,
  loadFactsOfCustomers,
  writeFacts,
} from "../store/fact-store.ts";
import type { FactKind } from "../store/tables.ts";

/**
 * What the incremental fold needs from storage, for one generation inside one transaction.
 * Postgres implements it below; the unit tests use an in-memory one to check the incremental
 * fold against `foldAll` without a database.
 */
export interface ProjectionStore {
  loadFactsById(ids: ReadonlyMap<FactKind, ReadonlySet<string>>): Promise<LoadedFact[]>;
  loadFactsOfCustomers(customerIds: readonly string[]): Promise<LoadedFact[]>;
  loadFactsOfCharges(chargeIds: readonly string[]): Promise<LoadedFact[]>;
  customersReferencing(refs: readonly string[]): Promise<string[]>;
  writeFacts(writes: ReadonlyMap<FactKind, readonly FactWrite[]>): Promise<void>;
  writeProjections(writes: readonly ProjectionWrite[]): Promise<void>;
  deleteProjections(customerIds: readonly string[]): Promise<void>;
  /** Customers whose derivation threw (their previous row stands), and those that derived again. */
  recordDeriveOutcomes(failed: readonly DeriveFailure[], derived: readonly string[]): Promise<void>;
}

export function postgresProjectionStore(db: ClientBase, generation: number): ProjectionStore {
  return {
    loadFactsById: (ids) => loadFactsById(db, generation, ids),
    loadFactsOfCustomers: (ids) => loadFactsOfCustomers(db, generation, ids),
    loadFactsOfCharges: (ids) => loadFactsOfCharges(db, generation, ids),
    customersReferencing: (refs) => customersReferencing(db, generation, refs),
    writeFacts: (writes) => writeFacts(db, generation, writes),
    writeProjections: (writes) => writeProjections(db, generation, writes),
    deleteProjections: (ids) => deleteProjections(db, generation, ids),
    recordDeriveOutcomes: (failed, derived) => recordDeriveOutcomes(db, generation, failed, derived),
  };
}
