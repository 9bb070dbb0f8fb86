import {
  customerFactsOf,
  DEFAULT_READ_MODEL_OPTIONS,
  type DecodedEvent,
  deriveCustomer,
  foldMany,
  type ReadModelOptions,
} from "../domain/index.ts";
import type { DeriveFailure, ProjectionWrite } from "../store/customer-store.ts";
import type { FactWrite, LoadedFact } from "../store/fact-store.ts";
import {
  asFoldState,
  CATALOG_KINDS,
  type CatalogKind,
  emptyWorkingState,
  FACT_KINDS,
  type FactKind,
  ownerOf,
  STATE_KEY,
  type StoredFact,
  type WorkingState,
} from "../store/tables.ts";
import type { ProjectionStore } from "./projection-store.ts";
import { createRecordingCatalog } from "./recording-catalog.ts";

/** Rows per pipelined projection write. */
const WRITE_CHUNK = 1000;

/** Cumulative wall time per phase of `applyEvents` (ms), for the benchmark's breakdown. */
export const applyPhaseMs: Record<string, number> = {};
let phaseAt = 0;
const phase = (name: string) => {
  const t = performance.now();
  if (name !== "start") applyPhaseMs[name] = (applyPhaseMs[name] ?? 0) + (t - phaseAt);
  phaseAt = t;
};

/** The domain threw: deterministic for the same input, so the events involved are poison. */
export class ReducerError extends Error {
  override readonly name = "ReducerError";
}

/**
 * Which customers this transaction may derive: those whose guarding lock it holds (their slot's,
 * see README "Partition-parallel writes"). `account` is the Stripe account of the event that made
 * the customer affected (an object and its customer always share one): with the customer id it
 * names the customer's records, hence its slot.
 */
export interface Locality {
  isLocal(customerId: string, account: string | null): boolean;
}

/** Every customer is local: the transaction holds its generation exclusively (a rebuild, a catalog change, a test). */
export const EVERYWHERE: Locality = { isLocal: () => true };

export interface ApplyScope {
  readonly locality: Locality;
  /** Customers to derive again besides those the events affect (requests taken from the mailbox). */
  readonly also: readonly string[];
  /**
   * What a changed catalog entry (product, price, coupon, discount) does to the customers that
   * reference it. `derive`: they are affected here (the transaction holds the generation
   * exclusively, so every reference is committed and visible). `defer`: nothing here; the
   * caller records the entries (`ApplyResult.changedCatalog`) and the supervisor asks their
   * slots later, once every transaction open beside this one has ended (slots.ts).
   */
  readonly catalogReferences: "derive" | "defer";
}

export const WHOLE_GENERATION: ApplyScope = { locality: EVERYWHERE, also: [], catalogReferences: "derive" };

/**
 * The customers a batch affects, split by its scope: `affected` (the scope's requested ones and
 * the local ones) are derived here, `foreign` ones (customer id → account) requested from their slot.
 */
export function affectedIn(scope: ApplyScope) {
  const affected = new Set<string>(scope.also);
  const foreign = new Map<string, string | null>();
  const affect = (customerId: string, account: string | null) => {
    if (scope.locality.isLocal(customerId, account)) affected.add(customerId);
    else foreign.set(customerId, account);
  };
  return { affected, foreign, affect };
}

/** The one account catalog changes of a batch came from (null when none or several). */
export const soleAccount = (accounts: ReadonlySet<string | null>): string | null =>
  accounts.size === 1 ? ([...accounts][0] ?? null) : null;

export interface ApplyResult {
  readonly factsWritten: number;
  readonly customersDerived: number;
  readonly customersDeleted: number;
  /** Customers whose derivation threw: their previous row stands (see derive_failure). */
  readonly customersFailed: number;
  /** Affected customers another slot guards (customer id → account): to be requested from it. */
  readonly foreign: ReadonlyMap<string, string | null>;
  /** Charges of changed refunds and disputes that no stored fact knows yet (charge id → account). */
  readonly orphanCharges: ReadonlyMap<string, string | null>;
  /** Catalog entries this batch changed (`kind:id` → account), with `catalogReferences: "defer"`. */
  readonly changedCatalog: ReadonlyMap<string, string | null>;
}

const NOTHING: ApplyResult = {
  factsWritten: 0,
  customersDerived: 0,
  customersDeleted: 0,
  customersFailed: 0,
  foreign: new Map(),
  orphanCharges: new Map(),
  changedCatalog: new Map(),
};

/** How a customer's read model is derived (the domain's; tests pass one that fails on purpose). */
export type Derive = typeof deriveCustomer;

const isCatalogKind = (kind: FactKind): kind is CatalogKind => (CATALOG_KINDS as readonly string[]).includes(kind);

const domain = <T>(what: string, fn: () => T): T => {
  try {
    return fn();
  } catch (cause) {
    throw new ReducerError(`${what} threw: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
};

const addTo = <K, V>(map: Map<K, Set<V>>, key: K, value: V) => {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
};

const putAll = (state: WorkingState, rows: readonly LoadedFact[], overwrite: boolean) => {
  for (const row of rows) {
    const map = state[STATE_KEY[row.kind]];
    if (overwrite || !map.has(row.id)) map.set(row.id, row.fact);
  }
};

/**
 * evolve* keeps the old winner object when it still wins, so a different winner means a strictly
 * newer version; the other fields are order-free aggregates (numbers or null).
 */
const factChanged = (before: StoredFact | undefined, after: StoredFact): boolean => {
  if (before === undefined || before.winner !== after.winner) return true;
  for (const key of Object.keys(after)) if (key !== "winner" && before[key] !== after[key]) return true;
  return false;
};

/**
 * The incremental fold behind the projector and the rebuild: loads the facts the events touch,
 * folds the events onto them with the domain's `foldMany`, writes the facts that changed, and
 * derives again every customer whose facts or looked-up catalog entries changed. Because every
 * evolve* is a semilattice join and deriveCustomer a pure function of the facts, the rows equal
 * what `readModels(foldAll(all events))` gives, whatever the batching.
 */
export async function applyEvents(
  store: ProjectionStore,
  events: readonly DecodedEvent[],
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
  derive: Derive = deriveCustomer,
  scope: ApplyScope = WHOLE_GENERATION,
): Promise<ApplyResult> {
  // 1. Facts the events touch, plus the charges refunds and disputes point at (their customer).
  const touched = new Map<FactKind, Set<string>>();
  const wanted = new Map<FactKind, Set<string>>();
  const accountOf = new Map<string, string | null>();
  for (const event of events) {
    if (event.outcome !== "snapshot") continue;
    const { kind, data } = event.snapshot;
    addTo(touched, kind, data.id);
    addTo(wanted, kind, data.id);
    accountOf.set(`${kind}:${data.id}`, event.meta.account);
    if ((kind === "refund" || kind === "dispute") && data.charge !== null) addTo(wanted, "charge", data.charge);
  }
  if (touched.size === 0 && scope.also.length === 0) return NOTHING;

  phase("start");
  const base = emptyWorkingState();
  const versions = new Map<string, number>();
  const loaded = await store.loadFactsById(wanted);
  for (const row of loaded) versions.set(`${row.kind}:${row.id}`, row.version);
  putAll(base, loaded, true);
  phase("1 load touched facts");
  const folded = domain("fold", () => foldMany(asFoldState(base), events)) as unknown as WorkingState;

  phase("1 fold");
  // 2. What changed, and which customers it concerns.
  const writes = new Map<FactKind, FactWrite[]>();
  // Local customers to derive here; the others are requested from the slot that guards them.
  const { affected, foreign, affect } = affectedIn(scope);
  const chargesOfChanged = new Map<string, string | null>();
  const changedCatalog = new Map<string, string | null>();
  let factsWritten = 0;
  for (const [kind, ids] of touched) {
    const key = STATE_KEY[kind];
    const rows: FactWrite[] = [];
    for (const id of ids) {
      const after = folded[key].get(id) as StoredFact | undefined;
      const before = base[key].get(id) as StoredFact | undefined;
      if (after === undefined || !factChanged(before, after)) continue;
      const account = accountOf.get(`${kind}:${id}`) ?? null;
      rows.push({ id, fact: after, expected: versions.get(`${kind}:${id}`) ?? 0 });
      if (kind === "customer") affect(id, account);
      else if (kind === "charge" || kind === "invoice" || kind === "subscription") {
        for (const owner of [ownerOf(before, "customer"), ownerOf(after, "customer")])
          if (owner) affect(owner, account);
      } else if (kind === "refund" || kind === "dispute") {
        for (const charge of [ownerOf(before, "charge"), ownerOf(after, "charge")])
          if (charge) chargesOfChanged.set(charge, account);
      } else if (isCatalogKind(kind)) {
        changedCatalog.set(`${kind}:${id}`, account);
      }
    }
    if (rows.length > 0) writes.set(kind, rows);
    factsWritten += rows.length;
  }
  if (factsWritten === 0 && affected.size === 0) return NOTHING;

  // A refund's previous charge is not among the loaded ones only if the refund moved: rare.
  const unknownCharges = [...chargesOfChanged.keys()].filter(
    (id) => !folded.charges.has(id) && !wanted.get("charge")?.has(id),
  );
  if (unknownCharges.length > 0) {
    putAll(folded, await store.loadFactsById(new Map([["charge", new Set(unknownCharges)]])), false);
  }
  const orphanCharges = new Map<string, string | null>();
  for (const [charge, account] of chargesOfChanged) {
    const fact = folded.charges.get(charge) as StoredFact | undefined;
    // Not known yet: the charge's writer may have read its refunds before this one committed.
    if (fact === undefined) orphanCharges.set(charge, account);
    const owner = ownerOf(fact, "customer");
    if (owner) affect(owner, account);
  }
  phase("2 diff");
  if (changedCatalog.size > 0 && scope.catalogReferences === "derive") {
    // The whole generation is this transaction's: every customer is local, every reference visible.
    const account = soleAccount(new Set(changedCatalog.values()));
    for (const id of await store.customersReferencing([...changedCatalog.keys()])) affect(id, account);
  }
  phase("2 customersReferencing");

  // 3. Everything the affected customers own: stored facts overlaid with the batch's.
  const working = emptyWorkingState();
  putAll(working, await store.loadFactsOfCustomers([...affected]), true);
  for (const kind of FACT_KINDS)
    for (const [id, fact] of folded[STATE_KEY[kind]]) working[STATE_KEY[kind]].set(id, fact);
  phase("3 load facts of customers");
  const ownCharges: string[] = [];
  for (const [id, fact] of working.charges) {
    const owner = ownerOf(fact as StoredFact, "customer");
    if (owner !== null && affected.has(owner)) ownCharges.push(id);
  }
  putAll(working, await store.loadFactsOfCharges(ownCharges), false);

  phase("3 load refunds/disputes");
  // 4. Derive, loading catalog entries the derivations ask for until none is missing. Writes are
  // chained one after the other on the transaction's connection (never two queries at once) and
  // issued as soon as their rows are known: the facts' upsert runs in Postgres while the rows are
  // derived here. A row is written once its derivation found every catalog entry it asked for (or
  // knows it is absent); the others are derived again after the missing entries are loaded.
  // (Yielding to the event loop between chunks, to start row writes earlier, measured slower: other
  // partitions' decoding then ran inside this transaction's critical section.)
  let tail: Promise<void> = Promise.resolve();
  const issue = (write: () => Promise<void>) => {
    tail = tail.then(write);
    tail.catch(() => {}); // awaited below; this only keeps a failure from being "unhandled" meanwhile
  };
  issue(() => store.writeFacts(writes));
  let ready: ProjectionWrite[] = [];
  const flush = () => {
    const rows = ready;
    if (rows.length > 0) issue(() => store.writeProjections(rows));
    ready = [];
  };
  const asked = new Map<CatalogKind, Set<string>>(CATALOG_KINDS.map((k) => [k, new Set(wanted.get(k) ?? [])]));
  const groups = customerFactsOf(asFoldState(working)).filter((g) => affected.has(g.customerId));
  const derived = new Map<string, ProjectionWrite>();
  // A derivation that throws is about one customer: the batch (and a catalog change that concerns
  // thousands of customers) still commits for everyone else; that customer keeps its row.
  const failed = new Map<string, DeriveFailure>();
  let pending = groups;
  try {
    for (;;) {
      const missing = new Map<CatalogKind, Set<string>>();
      const isMissing = (ref: string) => {
        const at = ref.indexOf(":");
        return missing.get(ref.slice(0, at) as CatalogKind)?.has(ref.slice(at + 1)) ?? false;
      };
      const recording = createRecordingCatalog(working, asked, missing);
      for (const group of pending) {
        recording.reset();
        let model: ReturnType<Derive>;
        try {
          model = derive(group, recording.catalog, options);
        } catch (cause) {
          const reason = `deriving threw: ${cause instanceof Error ? cause.message : String(cause)}`.slice(0, 500);
          failed.set(group.customerId, { customerId: group.customerId, reason });
          continue;
        }
        const write = { model, catalogRefs: [...recording.refs].sort() };
        derived.set(group.customerId, write);
        if (missing.size === 0 || !write.catalogRefs.some(isMissing)) {
          ready.push(write);
          if (ready.length >= WRITE_CHUNK) flush();
        }
      }
      flush();
      if (missing.size === 0) break;
      // Loads run on the same connection: after the writes issued so far.
      await tail;
      putAll(working, await store.loadFactsById(missing), true);
      const loadedNow = new Set<string>();
      for (const [kind, ids] of missing) {
        for (const id of ids) {
          asked.get(kind)?.add(id);
          loadedNow.add(`${kind}:${id}`);
        }
      }
      pending = pending.filter((g) => derived.get(g.customerId)?.catalogRefs.some((ref) => loadedNow.has(ref)));
    }
  } finally {
    // Never leave issued writes running behind a failure: the caller rolls back after them.
    await tail.catch(() => {});
  }
  phase("4 derive + pipelined writes");

  // 5. Write: facts, rows, and rows of customers no fact names any more.
  const gone = [...affected].filter((id) => !derived.has(id) && !failed.has(id));
  await tail;
  await store.deleteProjections(gone);
  await store.recordDeriveOutcomes([...failed.values()], [...derived.keys()]);
  phase("5 delete");
  applyPhaseMs["customers derived"] = (applyPhaseMs["customers derived"] ?? 0) + derived.size;
  applyPhaseMs["batches"] = (applyPhaseMs["batches"] ?? 0) + 1;
  applyPhaseMs["events"] = (applyPhaseMs["events"] ?? 0) + events.length;
  return {
    factsWritten,
    customersDerived: derived.size,
    customersDeleted: gone.length,
    customersFailed: failed.size,
    foreign,
    orphanCharges,
    changedCatalog: scope.catalogReferences === "defer" ? changedCatalog : new Map(),
  };
}
