import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldAll, PROFITWELL_MRR_RULES, type ReadModelOptions, readModels, toReadModelRow } from "../domain/index.ts";
import { decodeAll } from "../domain/stripe-test-events.ts";
import { generateHistory } from "../testing/history.ts";
import { createMemoryProjectionStore } from "../testing/memory-projection-store.ts";
import { applyEvents } from "./apply-events.ts";

const rowsOf = (models: Iterable<{ model: Parameters<typeof toReadModelRow>[0] }>) =>
  [...models].map((w) => toReadModelRow(w.model)).sort((a, b) => (a.customer_id < b.customer_id ? -1 : 1));

async function incremental(events: ReturnType<typeof decodeAll>, cuts: number[], options?: ReadModelOptions) {
  const { store, rows } = createMemoryProjectionStore();
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < events.length).sort((a, b) => a - b), events.length]) {
    await applyEvents(store, events.slice(from, cut), options);
    from = cut;
  }
  return rowsOf(rows.values());
}

describe("incremental fold against a store", () => {
  it("equals readModels(foldAll) for any history and any batching", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 1, max: 120 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 12 }),
        fc.boolean(),
        async (seed, n, cuts, reorder) => {
          const raw = generateHistory({ seed, events: n, customers: 4, spanSeconds: 5 });
          const events = decodeAll(reorder ? [...raw].reverse() : raw);
          const expected = readModels(foldAll(events)).map(toReadModelRow);
          expect(await incremental(events, cuts)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("honours non-default MRR rules", async () => {
    const events = decodeAll(generateHistory({ seed: 7, events: 300, customers: 10 }));
    const options = { mrr: PROFITWELL_MRR_RULES };
    expect(await incremental(events, [50, 51, 200], options)).toEqual(
      readModels(foldAll(events), options).map(toReadModelRow),
    );
  });

  it("writes nothing for a replayed batch", async () => {
    const { store } = createMemoryProjectionStore();
    const events = decodeAll(generateHistory({ seed: 3, events: 100, customers: 5 }));
    await applyEvents(store, events);
    expect(await applyEvents(store, events)).toEqual({ factsWritten: 0, customersDerived: 0, customersDeleted: 0 });
  });
});
