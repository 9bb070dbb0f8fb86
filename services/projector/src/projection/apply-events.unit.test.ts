import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deriveCustomer,
  foldAll,
  PROFITWELL_MRR_RULES,
  type ReadModelOptions,
  readModels,
  toReadModelRow,
} from "../domain/index.ts";
import { customer, decodeAll, event, price, product, subscription } from "../domain/stripe-test-events.ts";
import { generateHistory } from "../testing/history.ts";
import { createMemoryProjectionStore, memoryRows } from "../testing/memory-projection-store.ts";
import { applyEvents, EVERYWHERE } from "./apply-events.ts";

async function incremental(events: ReturnType<typeof decodeAll>, cuts: number[], options?: ReadModelOptions) {
  const { store, rows } = createMemoryProjectionStore();
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < events.length).sort((a, b) => a - b), events.length]) {
    await applyEvents(store, events.slice(from, cut), options);
    from = cut;
  }
  return memoryRows(rows);
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
    expect(await applyEvents(store, events)).toEqual({
      factsWritten: 0,
      customersDerived: 0,
      customersDeleted: 0,
      customersFailed: 0,
      foreign: new Map(),
      orphanCharges: new Map(),
      changedCatalog: new Map(),
    });
  });
});

describe("catalog references deferred (a live batch: the supervisor asks for them later)", () => {
  it("derives no referencing customer and returns the changed entry with its account", async () => {
    const { store, rows } = createMemoryProjectionStore();
    const T = 1_700_000_000;
    await applyEvents(
      store,
      decodeAll([
        event("customer.created", T, customer("cus_d")),
        event(
          "customer.subscription.created",
          T + 1,
          subscription({ id: "sub_d", customer: "cus_d", items: [{ id: "price_d", unit_amount: 900 }] }),
        ),
      ]),
    );
    const before = memoryRows(rows);
    expect(before).toEqual([
      expect.objectContaining({ customer_id: "cus_d", plan_name: expect.not.stringMatching(/^Pro$/) }),
    ]);
    const renamed = decodeAll([
      {
        ...event("price.updated", T + 2, price({ id: "price_d", unit_amount: 900, nickname: "Pro" })),
        account: "acct_1",
      },
    ]);
    const result = await applyEvents(store, renamed, undefined, undefined, {
      locality: EVERYWHERE,
      also: [],
      catalogReferences: "defer",
    });
    expect(result).toMatchObject({ factsWritten: 1, customersDerived: 0 });
    expect(result.changedCatalog).toEqual(new Map([["price:price_d", "acct_1"]]));
    expect(memoryRows(rows)).toEqual(before);
    // Derived on request (as a slot does with the supervisor's derive requests), it sees the change.
    await applyEvents(store, [], undefined, undefined, {
      locality: EVERYWHERE,
      also: ["cus_d"],
      catalogReferences: "defer",
    });
    expect(memoryRows(rows)).toEqual([expect.objectContaining({ customer_id: "cus_d", plan_name: "Pro" })]);
  });
});

describe("a derivation that throws", () => {
  it("concerns its customer only: a catalog change still reaches every other customer, who keep their rows", async () => {
    const { store, rows, failures } = createMemoryProjectionStore();
    const setup = ["cus_a", "cus_b", "cus_c"].flatMap((id, i) => [
      event("customer.created", 100 + i, customer(id)),
      event(
        "customer.subscription.created",
        110 + i,
        subscription({ id: `sub_${id}`, customer: id, items: [{ id: "price_1", product: "prod_1" }] }),
      ),
    ]);
    await applyEvents(store, decodeAll([...setup, event("product.created", 90, product("prod_1", "Basic"))]));
    expect([...rows.values()].map((r) => r.model.planName)).toEqual(["Basic", "Basic", "Basic"]);

    // The product is renamed: every subscriber is derived again; deriving cus_b throws.
    const failing: typeof deriveCustomer = (facts, catalog, options) => {
      if (facts.customerId === "cus_b") throw new Error("boom");
      return deriveCustomer(facts, catalog, options);
    };
    const result = await applyEvents(
      store,
      decodeAll([event("product.updated", 200, product("prod_1", "Premium"))]),
      undefined,
      failing,
    );
    expect(result).toMatchObject({ customersDerived: 2, customersFailed: 1, customersDeleted: 0 });
    expect(rows.get("cus_a")?.model.planName).toBe("Premium");
    expect(rows.get("cus_c")?.model.planName).toBe("Premium");
    expect(rows.get("cus_b")?.model.planName).toBe("Basic");
    expect([...failures]).toEqual([["cus_b", "deriving threw: boom"]]);

    // Once it derives again (the next change that concerns it), the failure is gone.
    await applyEvents(store, decodeAll([event("customer.updated", 300, customer("cus_b", { name: "B" }))]));
    expect(rows.get("cus_b")?.model.planName).toBe("Premium");
    expect(failures.size).toBe(0);
  });
});
