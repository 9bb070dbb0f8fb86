import { randomUUID } from "node:crypto";
import type { LoadedFact } from "../store/fact-store.ts";
import { CATALOG_KINDS, type FactKind, ownerOf, type StoredFact } from "../store/tables.ts";
import type { ProjectionStore } from "./projection-store.ts";

/**
 * A slot's facts kept in memory between its transactions (README "Owned in-memory state"), so a
 * batch reads back from Postgres only what the slot has not seen yet.
 *
 * What it holds: for some of the slot's customers, *everything* the customer owns (its customer
 * fact, charges, invoices and subscriptions, and the refunds and disputes of those charges), as
 * committed, with the row versions. A customer is held whole or not at all, so "the facts of
 * customer C" can be answered from memory. Catalog entries are never held (every slot changes them).
 *
 * Why it is exact, that is why a held customer equals its committed rows:
 * - Only a committed transaction fills it (`commit`, called after COMMIT succeeded); any failure
 *   empties it (`reset`), because what a failed transaction did is unknown.
 * - Every transaction holding the slot's lock writes its cache's name and the number of its
 *   commits so far plus one into the slot's marker row (`slot_marker`, in the same statement that
 *   takes the slot's requests), and reads what was there. The cache is trusted only if the marker
 *   read is exactly what its own last commit wrote: anything else means someone else held the slot
 *   since (another instance after a rebalance, a zombie, a restarted process, a purge or a bulk
 *   load, which delete the markers) or Postgres lost commits the cache saw (a crash under
 *   asynchronous commit rewinds the marker with them), so the cache is emptied first. A
 *   rolled-back transaction leaves the marker as it was, so it cannot pass for its writer's; a
 *   name alone is not enough (a counter alone neither: a rolled-back transaction hands the same
 *   number to the next writer).
 * - One transaction at a time uses the cache (they hold the slot's lock). Should the next begin
 *   before the last one's `commit` ran (its COMMIT's reply still unread), the cache is emptied
 *   and the late `commit` ignored.
 * - A transaction of another slot that changes a fact of this slot's customer (a refund keyed
 *   apart from its charge) asks this slot to derive that customer (derive_request, or a charge
 *   request resolved into one) in the same commit. Taking the request drops the customer here
 *   before anything is read, so it is reloaded from Postgres. Until the request is taken, the
 *   cached copy is what a Postgres read could also have returned (the write had not committed
 *   when the slot read, or its request would be taken already).
 * - A fact written from a stale copy is refused by its version check (ConcurrentFactWrite), so
 *   no update is lost even where the argument above were wrong: the batch fails and `reset`s.
 */

const OWNED_BY_CUSTOMER: ReadonlySet<FactKind> = new Set(["customer", "charge", "invoice", "subscription"]);
const OF_CHARGE: ReadonlySet<FactKind> = new Set(["refund", "dispute"]);
const CATALOG: ReadonlySet<FactKind> = new Set(CATALOG_KINDS);

type Key = string;
const keyOf = (kind: FactKind, id: string): Key => `${kind}:${id}`;

const field = (fact: LoadedFact, name: "customer" | "charge"): string | null => ownerOf(fact.fact as StoredFact, name);

/** Whose entry a fact belongs in, from the fact alone (refunds and disputes: by their charge). */
const customerOf = (fact: LoadedFact): string | null =>
  fact.kind === "customer" ? fact.id : OWNED_BY_CUSTOMER.has(fact.kind) ? field(fact, "customer") : null;

export interface FactCacheStats {
  hits: number;
  misses: number;
}

export class SlotFactCache {
  /** This cache's name in the slot's marker; a new one after every reset. */
  private writer: string = randomUUID();
  /** Transactions committed through this cache under its name. */
  private commits = 0;
  /** The transaction using the cache now (between `open` and its `commit` or a `reset`). */
  private active: object | undefined;
  /** Customer → every fact it owns, least recently committed first. */
  private readonly entries = new Map<string, Map<Key, LoadedFact>>();
  /** Fact → the customer whose entry holds it. */
  private readonly holder = new Map<Key, string>();

  constructor(private readonly maxCustomers: number) {}

  get customers(): number {
    return this.entries.size;
  }

  /** The customers held whole, least recently committed first. */
  heldCustomers(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** What the next transaction writes into the slot's marker (store/slots.ts takeSlot). */
  nextMarker(): string {
    return `${this.writer}:${this.commits + 1}`;
  }

  /**
   * Starts a transaction holding the slot's lock, which wrote `nextMarker()` into the slot's
   * marker and read `previous` there, and took `requested` (customers other slots asked this one
   * to derive again: their facts may have moved). Returns a store reading what is held from memory
   * and the rest from `inner`; `commit()`, once COMMIT succeeded, keeps what the transaction knows.
   */
  open(previous: string | null, requested: Iterable<string>, inner: ProjectionStore) {
    if (this.active !== undefined || previous !== `${this.writer}:${this.commits}`) this.clear();
    for (const customer of requested) this.drop(customer);
    const token = {};
    this.active = token;
    const view = this.view(inner);
    return {
      store: view.store,
      /** This transaction's reads answered from memory (hits) and from `inner` (misses). */
      reads: view.reads,
      commit: () => {
        if (this.active !== token) return;
        this.active = undefined;
        this.commits++;
        view.keep();
      },
    };
  }

  /** After a failed transaction: nothing held survives, and the marker no longer matches. */
  reset(): void {
    this.clear();
    this.writer = randomUUID();
    this.commits = 0;
    this.active = undefined;
  }

  private clear(): void {
    this.entries.clear();
    this.holder.clear();
  }

  private drop(customer: string): void {
    const entry = this.entries.get(customer);
    if (entry === undefined) return;
    for (const key of entry.keys()) this.holder.delete(key);
    this.entries.delete(customer);
  }

  private put(customer: string, facts: Map<Key, LoadedFact>): void {
    for (const key of facts.keys()) {
      const other = this.holder.get(key);
      if (other !== undefined && other !== customer) this.drop(other);
      this.holder.set(key, customer);
    }
    this.entries.set(customer, facts);
  }

  private chargeHolder(charge: string | null): string | undefined {
    return charge === null ? undefined : this.holder.get(keyOf("charge", charge));
  }

  private held(kind: FactKind, id: string): LoadedFact | undefined {
    const key = keyOf(kind, id);
    const customer = this.holder.get(key);
    return customer === undefined ? undefined : this.entries.get(customer)?.get(key);
  }

  /** One transaction's store over the cache, and `keep`, which keeps what it knows whole. */
  private view(inner: ProjectionStore): { store: ProjectionStore; reads: FactCacheStats; keep(): void } {
    // Every fact the transaction saw or wrote, the write winning.
    const known = new Map<Key, LoadedFact>();
    const written = new Set<Key>();
    const asWhole = new Set<string>();
    const chargesAsked = new Set<string>();
    const see = (facts: readonly LoadedFact[]) => {
      for (const f of facts) {
        const key = keyOf(f.kind, f.id);
        if (!written.has(key)) known.set(key, f);
      }
    };
    const reads: FactCacheStats = { hits: 0, misses: 0 };
    const count = (hits: number, misses: number) => {
      reads.hits += hits;
      reads.misses += misses;
    };

    /** The facts of each owner: from memory where `fromMemory` answers, the rest in one read of `load`. */
    const byOwner = async (
      owners: readonly string[],
      load: (rest: readonly string[]) => Promise<LoadedFact[]>,
      fromMemory: (owner: string) => LoadedFact[] | undefined,
    ): Promise<LoadedFact[]> => {
      const out: LoadedFact[] = [];
      const rest: string[] = [];
      for (const owner of owners) {
        const facts = fromMemory(owner);
        if (facts === undefined) rest.push(owner);
        else out.push(...facts);
      }
      const loaded = rest.length > 0 ? await load(rest) : [];
      count(owners.length - rest.length, rest.length);
      see(out);
      see(loaded);
      return [...out, ...loaded];
    };

    const store: ProjectionStore = {
      ...inner,
      loadFactsById: async (ids) => {
        const out: LoadedFact[] = [];
        const rest = new Map<FactKind, Set<string>>();
        for (const [kind, set] of ids) {
          for (const id of set) {
            const f = CATALOG.has(kind) ? undefined : this.held(kind, id);
            if (f !== undefined) out.push(f);
            else {
              const wanted = rest.get(kind);
              if (wanted) wanted.add(id);
              else rest.set(kind, new Set([id]));
            }
          }
        }
        const loaded = rest.size > 0 ? await inner.loadFactsById(rest) : [];
        count(out.length, loaded.length);
        see(out);
        see(loaded);
        return [...out, ...loaded];
      },
      loadFactsOfCustomers: (customerIds) =>
        byOwner(
          customerIds,
          (rest) => inner.loadFactsOfCustomers(rest),
          (customer) => {
            asWhole.add(customer);
            const entry = this.entries.get(customer);
            return entry && [...entry.values()].filter((f) => OWNED_BY_CUSTOMER.has(f.kind));
          },
        ),
      loadFactsOfCharges: (chargeIds) =>
        byOwner(
          chargeIds,
          (rest) => inner.loadFactsOfCharges(rest),
          (charge) => {
            chargesAsked.add(charge);
            // Held only if the charge itself is: its refunds and disputes came with its customer.
            const customer = this.chargeHolder(charge);
            const entry = customer === undefined ? undefined : this.entries.get(customer);
            return entry && [...entry.values()].filter((f) => OF_CHARGE.has(f.kind) && field(f, "charge") === charge);
          },
        ),
      writeFacts: async (writes) => {
        await inner.writeFacts(writes);
        for (const [kind, rows] of writes) {
          for (const w of rows) {
            const key = keyOf(kind, w.id);
            written.add(key);
            // A write without a version check (a rebuild's own generation) leaves the version unknown.
            known.set(key, {
              kind,
              id: w.id,
              fact: w.fact,
              version: w.expected === undefined ? Number.NaN : w.expected + 1,
            });
          }
        }
      },
    };

    const keep = () => {
      // A written fact's old holder may no longer own it (a charge that moved), and the customer it
      // names now lacks it unless rebuilt below: both dropped.
      for (const key of written) {
        const old = this.holder.get(key);
        if (old !== undefined) this.drop(old);
        const f = known.get(key);
        if (f === undefined) continue;
        const owner = OF_CHARGE.has(f.kind) ? this.chargeHolder(field(f, "charge")) : customerOf(f);
        if (owner !== null && owner !== undefined) this.drop(owner);
      }
      // The customers this transaction knows whole: asked for as a whole, every charge of theirs
      // asked for its refunds and disputes, every version known.
      const whole = new Map<string, Map<Key, LoadedFact>>();
      for (const customer of asWhole) {
        this.drop(customer);
        whole.set(customer, new Map());
      }
      const chargeOwner = new Map<string, string>();
      const broken = new Set<string>();
      const add = (customer: string, key: Key, f: LoadedFact) => {
        whole.get(customer)?.set(key, f);
        if (Number.isNaN(f.version)) broken.add(customer);
      };
      for (const [key, f] of known) {
        const customer = customerOf(f);
        if (customer === null || !whole.has(customer)) continue;
        add(customer, key, f);
        if (f.kind === "charge") {
          chargeOwner.set(f.id, customer);
          if (!chargesAsked.has(f.id)) broken.add(customer);
        }
      }
      for (const [key, f] of known) {
        if (!OF_CHARGE.has(f.kind)) continue;
        const charge = field(f, "charge");
        const customer = charge === null ? undefined : chargeOwner.get(charge);
        if (customer !== undefined) add(customer, key, f);
      }
      for (const [customer, facts] of whole) if (!broken.has(customer)) this.put(customer, facts);
      // Least recently committed first.
      for (const customer of this.entries.keys()) {
        if (this.entries.size <= this.maxCustomers) break;
        this.drop(customer);
      }
    };

    return { store, reads, keep };
  }
}

/**
 * One cache per (generation, slot) for this process, shared by the slot's batches and its mailbox
 * drain (both hold the slot's lock while they use it). `maxCustomers` 0 turns caching off.
 */
export function createFactCaches(maxCustomers: number) {
  // The slots' caches of the one generation this process writes (another's replace them all).
  let generationHeld: number | undefined;
  const caches = new Map<number, SlotFactCache>();
  return {
    /** Reads of this process's committed transactions (consumer/slot-scope.ts countCacheReads). */
    stats: { hits: 0, misses: 0 } satisfies FactCacheStats,
    /** The slot's cache; undefined when caching is off or the transaction has no slot. */
    of(generation: number, slot: number | null, slots: number): SlotFactCache | undefined {
      if (maxCustomers === 0 || slot === null) return undefined;
      if (generation !== generationHeld) {
        caches.clear();
        generationHeld = generation;
      }
      let cache = caches.get(slot);
      if (cache === undefined) {
        cache = new SlotFactCache(Math.max(1, Math.floor(maxCustomers / slots)));
        caches.set(slot, cache);
      }
      return cache;
    },
    /** Customers held across every slot (for the metrics). */
    customers(): number {
      let n = 0;
      for (const cache of caches.values()) n += cache.customers;
      return n;
    },
  };
}

export type FactCaches = ReturnType<typeof createFactCaches>;
