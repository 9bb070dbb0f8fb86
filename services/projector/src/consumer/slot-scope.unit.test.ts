import { describe, expect, it } from "vitest";
import { type DecodedEvent, decodeEvent } from "../domain/events.ts";
import { changesSharedCatalog, splitAtCatalog } from "./slot-scope.ts";

const event = (id: string, object: Record<string, unknown>, account?: string): DecodedEvent => {
  const result = decodeEvent({
    id,
    type: `${String(object["object"])}.updated`,
    created: 1_700_000_000,
    data: { object },
    account,
  });
  if (!result.ok) throw new Error(result.reason);
  return result.event;
};
const charge = (id: string) =>
  event(`evt_${id}`, { id, object: "charge", customer: "cus_1", amount: 100, currency: "eur", status: "succeeded" });
const price = (id: string, account?: string) =>
  event(`evt_${id}`, { id, object: "price", currency: "eur", unit_amount: 500, product: "prod_1" }, account);
const discount = (id: string) =>
  event(`evt_${id}`, { id, object: "discount", customer: "cus_1", coupon: { id: "co_1", object: "coupon" } });

const ids = (runs: (DecodedEvent | undefined)[][]) => runs.map((run) => run.map((e) => e?.meta.id ?? "poison"));

describe("splitAtCatalog", () => {
  it("keeps a batch without shared-catalog changes in one run", () => {
    const batch = [charge("ch_1"), discount("di_1"), undefined, charge("ch_2")];
    expect(ids(splitAtCatalog(batch, (e) => e))).toEqual([["evt_ch_1", "evt_di_1", "poison", "evt_ch_2"]]);
  });

  it("cuts a run of catalog changes of one account out of the customer events around it, in order", () => {
    const batch = [charge("ch_1"), price("pr_1"), price("pr_2"), charge("ch_2"), undefined, price("pr_3")];
    const runs = splitAtCatalog(batch, (e) => e);
    expect(ids(runs)).toEqual([["evt_ch_1"], ["evt_pr_1", "evt_pr_2"], ["evt_ch_2", "poison"], ["evt_pr_3"]]);
    expect(runs.map((run) => changesSharedCatalog(run.flatMap((e) => (e ? [e] : []))))).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it("separates catalog changes of different accounts (their customers' slots follow the account)", () => {
    const batch = [price("pr_1", "acct_a"), price("pr_2", "acct_a"), price("pr_3", "acct_b"), price("pr_4")];
    expect(ids(splitAtCatalog(batch, (e) => e))).toEqual([["evt_pr_1", "evt_pr_2"], ["evt_pr_3"], ["evt_pr_4"]]);
  });
});
