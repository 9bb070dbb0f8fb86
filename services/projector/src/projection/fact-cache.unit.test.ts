import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DecodedEvent, foldAll, readModels, toReadModelRow } from "../domain/index.ts";
import { customer, decodeAll, event } from "../domain/stripe-test-events.ts";
import type { LoadedFact } from "../store/fact-store.ts";
import { generateHistory } from "../testing/history.ts";
import { createMemoryProjectionStore, memoryRows } from "../testing/memory-projection-store.ts";
import { type ApplyScope, applyEvents, WHOLE_GENERATION } from "./apply-events.ts";
import { createFactCaches, SlotFactCache } from "./fact-cache.ts";
import type { ProjectionStore } from "./projection-store.ts";

type Memory = ReturnType<typeof createMemoryProjectionStore>;

/** A stored fact naming its customer, and nothing else the cache looks at. */
const ownedBy = (customerId: string) => ({ winner: { data: { customer: customerId } } });

const sorted = (facts: readonly LoadedFact[]) =>
  [...facts]
    .map((f) => ({ kind: f.kind, id: f.id, version: f.version, fact: f.fact }))
    .sort((a, b) => (`${a.kind}:${a.id}` < `${b.kind}:${b.id}` ? -1 : 1));

/** Fails any read: what the cache answers through it came from memory. */
const unreachable = (inner: ProjectionStore): ProjectionStore => ({
  ...inner,
  loadFactsById: async () => expect.fail("read the store"),
  loadFactsOfCustomers: async () => expect.fail("read the store"),
  loadFactsOfCharges: async () => expect.fail("read the store"),
});

/**
 * The slot's marker row and the transactions that hold the slot's lock, as store/slots.ts and
 * consumer/slot-scope.ts run them: a transaction writes the cache's next marker and opens the
 * cache on the one it read; the write stands only if the transaction commits.
 */
function slotOf(cache: SlotFactCache) {
  let marker: string | null = null;
  /** Reads of the committed transactions, as countCacheReads adds them up. */
  const reads = { hits: 0, misses: 0 };
  return {
    reads,
    transaction(inner: ProjectionStore, requested: readonly string[] = []) {
      const next = cache.nextMarker();
      const view = cache.open(marker, requested, inner);
      return {
        store: view.store,
        commit: () => {
          marker = next;
          view.commit();
          reads.hits += view.reads.hits;
          reads.misses += view.reads.misses;
        },
      };
    },
    /** Another process (or a purge) held the slot since. */
    takenOver: () => {
      marker = "another process:1";
    },
    get marker() {
      return marker;
    },
    set marker(value: string | null) {
      marker = value;
    },
  };
}

/** The invariant, read in a transaction of its own: every customer held equals its committed facts. */
async function expectExact(slot: ReturnType<typeof slotOf>, cache: SlotFactCache, memory: Memory) {
  const held = [...cache.heldCustomers()];
  const tx = slot.transaction(unreachable(memory.store));
  for (const customerId of held) {
    const own = await tx.store.loadFactsOfCustomers([customerId]);
    const charges = own.filter((f) => f.kind === "charge").map((f) => f.id);
    const cached = [...own, ...(await tx.store.loadFactsOfCharges(charges))];
    const stored = await memory.store.loadFactsOfCustomers([customerId]);
    stored.push(...(await memory.store.loadFactsOfCharges(stored.filter((f) => f.kind === "charge").map((f) => f.id))));
    expect(sorted(cached), customerId).toEqual(sorted(stored));
  }
  tx.commit();
  expect([...cache.heldCustomers()].sort()).toEqual(held.sort());
}

/** Nobody but the test's own writers: every customer is the cached writer's, as with one slot. */
const OURS: ApplyScope = WHOLE_GENERATION;
/** Another slot's writer: derives nothing, asks for every customer it affects. */
const THEIRS: ApplyScope = { locality: { isLocal: () => false }, also: [], catalogReferences: "derive" };

type Step = { readonly cut: number; readonly by: "ours" | "theirs" | "reset" | "stranger" };

/**
 * Plays `events` in batches: "ours" in transactions through the cache (with the requests taken),
 * "theirs" straight into the store as another slot would (its requests are taken by our next
 * batch), "reset" as after a failed transaction, "stranger" as another process holding the slot.
 */
async function play(events: readonly DecodedEvent[], steps: readonly Step[], maxCustomers: number) {
  const memory = createMemoryProjectionStore();
  const cache = new SlotFactCache(maxCustomers);
  const slot = slotOf(cache);
  let requested = new Set<string>();
  let from = 0;
  const ours = async (batch: readonly DecodedEvent[]) => {
    const tx = slot.transaction(memory.store, [...requested]);
    await applyEvents(tx.store, batch, undefined, undefined, { ...OURS, also: [...requested] });
    tx.commit();
    requested = new Set();
    await expectExact(slot, cache, memory);
  };
  const ordered = [...steps].sort((a, b) => a.cut - b.cut);
  for (const step of [...ordered, { cut: events.length, by: "ours" } as const]) {
    if (step.by === "reset") {
      cache.reset();
      continue;
    }
    const batch = events.slice(from, Math.max(from, step.cut));
    from = Math.max(from, step.cut);
    if (step.by === "ours") await ours(batch);
    else if (step.by === "theirs") {
      const result = await applyEvents(memory.store, batch, undefined, undefined, THEIRS);
      for (const customerId of result.foreign.keys()) requested.add(customerId);
    } else {
      // Holds the slot: derives its customers itself and leaves no request; only the marker tells.
      await applyEvents(memory.store, batch, undefined, undefined, { ...OURS, also: [...requested] });
      requested = new Set();
      slot.takenOver();
    }
  }
  if (requested.size > 0) await ours([]);
  return { memory, cache, reads: slot.reads };
}

describe("a slot's fact cache", () => {
  it("keeps the fold exact and every held customer equal to its stored facts, whoever else writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 150 }),
        fc.array(
          fc.record({
            cut: fc.integer({ min: 0, max: 150 }),
            by: fc.constantFrom("ours", "ours", "ours", "theirs", "reset", "stranger"),
          }),
          { maxLength: 14 },
        ),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (seed, n, steps, maxCustomers, reorder) => {
          const raw = generateHistory({ seed, events: n, customers: 5, spanSeconds: 5 });
          const events = decodeAll(reorder ? [...raw].reverse() : raw);
          const { memory, cache } = await play(events, steps as Step[], maxCustomers);
          expect(memoryRows(memory.rows)).toEqual(readModels(foldAll(events)).map(toReadModelRow));
          expect(cache.customers).toBeLessThanOrEqual(maxCustomers);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("answers a held customer's later batches from memory", async () => {
    const events = decodeAll(generateHistory({ seed: 11, events: 400, customers: 8 }));
    const cuts = Array.from({ length: 19 }, (_, i) => ({ cut: (i + 1) * 20, by: "ours" as const }));
    const { reads } = await play(events, cuts, 100);
    expect(reads.hits).toBeGreaterThan(reads.misses);
  });

  it("trusts itself only when the marker is what its own last commit wrote", async () => {
    const memory = createMemoryProjectionStore();
    const cache = new SlotFactCache(10);
    const slot = slotOf(cache);
    const remember = async (customerId: string) => {
      const tx = slot.transaction(memory.store);
      await applyEvents(tx.store, decodeAll([event("customer.created", 1, customer(customerId))]));
      tx.commit();
    };
    await remember("cus_a");
    const afterA = slot.marker;
    await remember("cus_b");
    expect([...cache.heldCustomers()]).toEqual(["cus_a", "cus_b"]);
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(2);
    // Postgres lost the last commits (a crash under asynchronous commit): the marker went back.
    slot.marker = afterA;
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(0);
    await remember("cus_c");
    slot.takenOver();
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(0);
    await remember("cus_d");
    slot.marker = null;
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(0);
    // A transaction that ended neither way (no commit, no reset) leaves nothing trusted.
    await remember("cus_e");
    slot.transaction(memory.store);
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(0);
  });

  it("changes its name on reset, so its next transaction cannot pass for the failed one", () => {
    const cache = new SlotFactCache(10);
    const before = cache.nextMarker();
    cache.reset();
    expect(cache.nextMarker()).not.toBe(before);
  });

  it("ignores a commit that comes after the next transaction began, and starts that one empty", async () => {
    const memory = createMemoryProjectionStore();
    const cache = new SlotFactCache(10);
    const slot = slotOf(cache);
    const late = slot.transaction(memory.store);
    await applyEvents(late.store, decodeAll([event("customer.created", 1, customer("cus_a"))]));
    // Its COMMIT went through (the marker is written) but its reply was not read yet.
    slot.marker = cache.nextMarker();
    const next = slot.transaction(memory.store);
    await applyEvents(next.store, decodeAll([event("customer.created", 1, customer("cus_b"))]));
    late.commit();
    expect(cache.customers).toBe(0);
    next.commit();
    expect([...cache.heldCustomers()]).toEqual(["cus_b"]);
    slot.transaction(memory.store).commit();
    expect(cache.customers).toBe(1);
  });

  it("drops the customer a written fact names when the transaction did not load that customer whole", async () => {
    const memory = createMemoryProjectionStore();
    const cache = new SlotFactCache(10);
    const slot = slotOf(cache);
    const first = slot.transaction(memory.store);
    await applyEvents(first.store, decodeAll([event("customer.created", 1, customer("cus_a"))]));
    first.commit();
    const second = slot.transaction(memory.store);
    await second.store.writeFacts(new Map([["invoice", [{ id: "in_1", fact: ownedBy("cus_a"), expected: 0 }]]]));
    second.commit();
    expect(cache.customers).toBe(0);
  });

  it("holds a customer only if the refunds and disputes of every charge of its were asked for", async () => {
    const memory = createMemoryProjectionStore();
    await memory.store.writeFacts(new Map([["charge", [{ id: "ch_1", fact: ownedBy("cus_a"), expected: 0 }]]]));
    const cache = new SlotFactCache(10);
    const view = slotOf(cache).transaction(memory.store);
    await view.store.loadFactsOfCustomers(["cus_a"]);
    view.commit();
    expect(cache.customers).toBe(0);
  });

  it("drops the old holder of a fact that now names another customer", async () => {
    const memory = createMemoryProjectionStore();
    await memory.store.writeFacts(new Map([["charge", [{ id: "ch_1", fact: ownedBy("cus_a"), expected: 0 }]]]));
    const cache = new SlotFactCache(10);
    const slot = slotOf(cache);
    const first = slot.transaction(memory.store);
    await first.store.loadFactsOfCustomers(["cus_a"]);
    await first.store.loadFactsOfCharges(["ch_1"]);
    first.commit();
    expect([...cache.heldCustomers()]).toEqual(["cus_a"]);
    const second = slot.transaction(memory.store);
    await second.store.writeFacts(new Map([["charge", [{ id: "ch_1", fact: ownedBy("cus_b"), expected: 1 }]]]));
    second.commit();
    expect(cache.customers).toBe(0);
  });

  it("keeps one cache per slot of the newest generation, and none when turned off", () => {
    const caches = createFactCaches(100);
    const a = caches.of(1, 0, 4);
    expect(caches.of(1, 0, 4)).toBe(a);
    expect(caches.of(1, 1, 4)).not.toBe(a);
    expect(caches.of(1, null, 4)).toBeUndefined();
    caches.of(2, 0, 4);
    expect(caches.of(1, 0, 4)).not.toBe(a);
    expect(createFactCaches(0).of(1, 0, 4)).toBeUndefined();
  });
});
