import { describe, expect, it } from "vitest";
import { generateHistory } from "../testing/history.ts";
import { type ErasedIds, idsNamedBy, namesErased, rawIdsNamed } from "./erasure.ts";
import { decodeEvent } from "./events.ts";

const T = 1_700_000_000;
const evt = (type: string, object: Record<string, unknown>) => {
  const r = decodeEvent({ id: `evt_${type}_${String(object["id"])}`, type, created: T, data: { object } });
  if (!r.ok) throw new Error(r.reason);
  return r.event;
};
const list = (...ids: string[]): ErasedIds => ({ empty: ids.length === 0, has: (id) => ids.includes(id) });

describe("the erasure predicate", () => {
  const dispute = evt("charge.dispute.created", {
    id: "dp_1",
    object: "dispute",
    charge: "ch_1",
    amount: 500,
    currency: "usd",
    status: "needs_response",
  });
  const charge = evt("charge.succeeded", {
    id: "ch_1",
    object: "charge",
    customer: "cus_1",
    status: "succeeded",
    captured: true,
    amount: 500,
    amount_captured: 500,
    amount_refunded: 0,
    currency: "usd",
    created: T,
  });
  const customer = evt("customer.created", { id: "cus_1", object: "customer", email: "a@example.com", created: T });

  it("names the object, its customer, and a dispute's or refund's charge", () => {
    expect(idsNamedBy(charge)).toEqual(["ch_1", "cus_1"]);
    expect(idsNamedBy(dispute)).toEqual(["dp_1", "ch_1"]);
    expect(idsNamedBy(customer)).toEqual(["cus_1"]);
  });

  it("matches an erased customer through any of its objects, and nobody else", () => {
    expect(namesErased(charge, list("cus_1"))).toBe(true);
    expect(namesErased(customer, list("cus_1"))).toBe(true);
    // The dispute names only the charge: it is caught once the charge is on the list.
    expect(namesErased(dispute, list("cus_1"))).toBe(false);
    expect(namesErased(dispute, list("cus_1", "ch_1"))).toBe(true);
    expect(namesErased(charge, list("cus_2"))).toBe(false);
  });

  it("costs no lookup when nothing is erased", () => {
    let lookups = 0;
    const empty: ErasedIds = {
      empty: true,
      has: () => {
        lookups++;
        return true;
      },
    };
    expect(namesErased(charge, empty)).toBe(false);
    expect(lookups).toBe(0);
  });
});

describe("the raw id reader compact-log uses", () => {
  it("names at least what the decoded event names, for a generated history of every kind", () => {
    const history = generateHistory({ seed: 5, events: 3000, customers: 50, prefix: "raw" });
    let checked = 0;
    for (const raw of history) {
      const decoded = decodeEvent(raw);
      if (!decoded.ok) continue;
      const raws = new Set(rawIdsNamed(raw));
      for (const id of idsNamedBy(decoded.event)) expect(raws.has(id)).toBe(true);
      checked++;
    }
    expect(checked).toBeGreaterThan(2900);
  });

  it("reads expanded references and ignores what is not an event", () => {
    expect(rawIdsNamed({ data: { object: { id: "ch_1", customer: { id: "cus_1" }, charge: null } } })).toEqual([
      "ch_1",
      "cus_1",
    ]);
    expect(rawIdsNamed({ data: { object: { id: "dp_1", charge: { id: "ch_1" } } } })).toEqual(["dp_1", "ch_1"]);
    expect(rawIdsNamed(null)).toEqual([]);
    expect(rawIdsNamed({ data: {} })).toEqual([]);
  });
});
