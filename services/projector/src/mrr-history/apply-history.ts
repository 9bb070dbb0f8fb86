import type { ClientBase } from "pg";
import {
  type CustomerHistoryFacts,
  collectHistory,
  type DerivedHistory,
  deriveCustomerHistory,
} from "../domain/history-of.ts";
import {
  type CustomerFact,
  DEFAULT_READ_MODEL_OPTIONS,
  type DecodedEvent,
  type ReadModelOptions,
} from "../domain/index.ts";
import type { MonthlyMrrRow } from "../domain/movements.ts";
import { joinVersions, type SubscriptionVersions } from "../domain/subscription-history.ts";
import { type ApplyScope, affectedIn, soleAccount, WHOLE_GENERATION } from "../projection/apply-events.ts";
import { createRecordingCatalog } from "../projection/recording-catalog.ts";
import { loadFactsById } from "../store/fact-store.ts";
import { CATALOG_KINDS, type CatalogKind, emptyWorkingState, STATE_KEY } from "../store/tables.ts";
import {
  deleteMonths,
  historiesReferencing,
  historyCustomerRow,
  loadHistoriesById,
  loadHistoriesOfCustomers,
  loadMonths,
  replaceHistoryCustomers,
  type StoredHistory,
  touchChanged,
  writeHistories,
  writeMonths,
} from "./history-store.ts";

/**
 * The live path of the MRR history, for one batch inside the projector's transaction, after the
 * batch's facts are written (it reads the catalog and customer facts as they now are). It joins
 * the batch's subscription snapshots into the stored sets, then derives again the customers whose
 * history can have changed — a subscription set grew, the customer object changed (its discount),
 * or a catalog entry its history looked up changed — and writes only the months that differ.
 * Kept apart from applyEvents so the consume/write path can host this call wherever it batches.
 */

export interface HistoryResult {
  readonly subscriptions: number;
  readonly customers: number;
  readonly monthsWritten: number;
  readonly monthsDeleted: number;
  /** Affected customers another slot guards (customer id → account): to be requested from it. */
  readonly foreign: ReadonlyMap<string, string | null>;
}

const ownerOf = (versions: SubscriptionVersions): string | null => versions[versions.length - 1]?.data.customer ?? null;

const rowKey = (r: { customer_id: string; currency: string; month: string }) =>
  `${r.customer_id}\u0000${r.currency}\u0000${r.month}`;

const sameRow = (a: MonthlyMrrRow, b: MonthlyMrrRow) =>
  a.mrr === b.mrr &&
  a.previous_mrr === b.previous_mrr &&
  a.movement === b.movement &&
  a.subscriptions === b.subscriptions;

export async function applyMrrHistory(
  db: ClientBase,
  generation: number,
  events: readonly DecodedEvent[],
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
  scope: ApplyScope = WHOLE_GENERATION,
): Promise<HistoryResult> {
  const batch = collectHistory(events);
  const customerObjects = new Map<string, string | null>();
  const accountOf = new Map<string, string | null>();
  const catalogRefs: string[] = [];
  const catalogAccounts = new Set<string | null>();
  for (const event of events) {
    if (event.outcome !== "snapshot") continue;
    const { kind, data } = event.snapshot;
    if (kind === "customer") customerObjects.set(data.id, event.meta.account);
    else if (kind === "subscription") accountOf.set(data.id, event.meta.account);
    else if ((CATALOG_KINDS as readonly string[]).includes(kind)) {
      catalogRefs.push(`${kind}:${data.id}`);
      catalogAccounts.add(event.meta.account);
    }
  }
  const none = { subscriptions: 0, customers: 0, monthsWritten: 0, monthsDeleted: 0, foreign: new Map() };
  if (batch.size === 0 && customerObjects.size === 0 && catalogRefs.length === 0 && scope.also.length === 0)
    return none;

  // 1. Join the batch's snapshots into the stored sets; keep those that grew. Only the customers
  // this transaction's slot guards are derived here (README "Partition-parallel writes").
  const { affected, foreign, affect } = affectedIn(scope);
  const changed: StoredHistory[] = [];
  const stored = new Map(
    (await loadHistoriesById(db, generation, [...batch.keys()])).map((h) => [h.subscriptionId, h]),
  );
  for (const [id, versions] of batch) {
    const before = stored.get(id);
    const after = joinVersions(before?.versions ?? [], versions);
    if (before !== undefined && after === before.versions) continue;
    const owner = ownerOf(after);
    changed.push({ subscriptionId: id, customerId: owner, versions: after });
    for (const c of [before?.customerId ?? null, owner]) if (c !== null) affect(c, accountOf.get(id) ?? null);
  }
  await writeHistories(db, generation, changed);
  for (const [id, account] of customerObjects) affect(id, account);
  // Deferred: the supervisor asks for the referencing histories once concurrent writers ended.
  if (scope.catalogReferences === "derive")
    for (const id of await historiesReferencing(db, generation, catalogRefs)) affect(id, soleAccount(catalogAccounts));
  if (affected.size === 0) return { ...none, foreign };

  // 2. Everything the affected customers' histories need.
  const customers = [...affected];
  const histories = await loadHistoriesOfCustomers(db, generation, customers);
  const byCustomer = new Map<string, SubscriptionVersions[]>();
  for (const h of histories) {
    if (h.customerId === null) continue;
    const list = byCustomer.get(h.customerId);
    if (list) list.push(h.versions);
    else byCustomer.set(h.customerId, [h.versions]);
  }
  const customerFacts = new Map(
    (await loadFactsById(db, generation, new Map([["customer", new Set(byCustomer.keys())]]))).map((f) => [
      f.id,
      f.fact as CustomerFact,
    ]),
  );

  // 3. Derive, loading catalog entries until none the derivations asked for is missing.
  const working = emptyWorkingState();
  const asked = new Map<CatalogKind, Set<string>>(CATALOG_KINDS.map((k) => [k, new Set<string>()]));
  const derived = new Map<string, DerivedHistory & { refs: string[] }>();
  for (;;) {
    const missing = new Map<CatalogKind, Set<string>>();
    const recording = createRecordingCatalog(working, asked, missing);
    for (const [customerId, subscriptions] of byCustomer) {
      recording.reset();
      const facts: CustomerHistoryFacts = {
        customerId,
        customer: customerFacts.get(customerId) ?? null,
        subscriptions,
      };
      const d = deriveCustomerHistory(facts, recording.catalog, options);
      derived.set(customerId, { ...d, refs: [...recording.refs].sort() });
    }
    if (missing.size === 0) break;
    for (const row of await loadFactsById(db, generation, missing)) working[STATE_KEY[row.kind]].set(row.id, row.fact);
    for (const [kind, ids] of missing) for (const id of ids) asked.get(kind)?.add(id);
  }

  // 4. Write the months that differ, and the per-customer row.
  const before = new Map((await loadMonths(db, generation, customers)).map((r) => [rowKey(r), r]));
  const writes: MonthlyMrrRow[] = [];
  const kept = new Set<string>();
  for (const d of derived.values()) {
    for (const row of d.rows) {
      const key = rowKey(row);
      kept.add(key);
      const old = before.get(key);
      if (old === undefined || !sameRow(old, row)) writes.push(row);
    }
  }
  const gone = [...before.values()].filter((r) => !kept.has(rowKey(r)));
  await deleteMonths(db, generation, gone);
  await writeMonths(db, generation, writes);
  const summaryChanged = await replaceHistoryCustomers(
    db,
    generation,
    [...derived].map(([id, d]) => historyCustomerRow(id, d, d.refs)),
    customers.filter((id) => !derived.has(id)),
  );
  await touchChanged(db, generation, summaryChanged);
  return {
    subscriptions: changed.length,
    customers: derived.size,
    monthsWritten: writes.length,
    monthsDeleted: gone.length,
    foreign,
  };
}
