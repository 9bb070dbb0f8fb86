import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  customer,
  discount,
  event,
  product,
  projectOne,
  type RawEvent,
  type Shape,
  subscription,
} from "./stripe-test-events.ts";

/** Issue #20: the connector attributes as read-model fields, in both payload shapes, order-free. */

const T = 1_700_000_000;
const CUS = "cus_attr";
const attributes = (raws: readonly RawEvent[]) => {
  const m = projectOne(raws, CUS);
  return {
    balance: m.balance,
    country: m.country,
    city: m.city,
    delinquent: m.delinquent,
    planNames: m.planNames,
    couponName: m.couponName,
  };
};
const cust = (fields: Record<string, unknown>, at = T) => event("customer.updated", at, customer(CUS, fields));

describe("customer attributes from the customer object", () => {
  it.each([
    ["nothing", {}, { balance: {}, country: null, city: null, delinquent: null }],
    ["a credit", { balance: -2500 }, { balance: { usd: -2500 } }],
    ["a zero balance", { balance: 0 }, { balance: {} }],
    ["an address", { address: { country: "de", city: "Berlin" } }, { country: "DE", city: "Berlin" }],
    ["an address without city", { address: { country: "DE", city: null } }, { country: "DE", city: null }],
    ["delinquent", { delinquent: true }, { delinquent: true }],
    ["not delinquent", { delinquent: false }, { delinquent: false }],
  ])("%s", (_name, fields, want) => {
    expect(attributes([cust(fields)])).toMatchObject(want);
  });

  it("the latest customer snapshot wins, whatever the arrival order", () => {
    const older = cust({ balance: -100, address: { country: "FR", city: "Paris" }, delinquent: true }, T);
    const newer = cust({ balance: 300, address: { country: "ES", city: "Madrid" }, delinquent: false }, T + 60);
    const want = { balance: { usd: 300 }, country: "ES", city: "Madrid", delinquent: false };
    expect(attributes([older, newer])).toMatchObject(want);
    expect(attributes([newer, older])).toMatchObject(want);
  });

  it("a deleted customer keeps no address", () => {
    const deleted = event(
      "customer.deleted",
      T + 60,
      customer(CUS, { deleted: true, address: { country: "FR", city: "Nice" } }),
    );
    expect(attributes([cust({ address: { country: "FR", city: "Nice" } }), deleted])).toMatchObject({
      country: null,
      city: null,
    });
  });
});

describe.each<Shape>(["legacy", "basil"])("plan names and coupon (%s shape)", (shape) => {
  const sub = (id: string, status: string, nickname: string | null, productId: string, discounts: unknown[] = []) =>
    event(
      "customer.subscription.updated",
      T,
      subscription(
        {
          id,
          customer: CUS,
          status,
          items: [{ id: `price_${id}`, nickname, product: productId }],
          discounts: discounts as never,
        },
        shape,
      ),
      { shape },
    );

  it("lists the live subscriptions' plans, sorted, unique; ended ones are left out", () => {
    const raws = [
      cust({}),
      sub("sub_1", "active", "Pro", "prod_pro"),
      sub("sub_2", "trialing", null, "prod_basic"),
      sub("sub_3", "canceled", "Legacy", "prod_legacy"),
      sub("sub_4", "past_due", "Pro", "prod_pro"),
      event("product.created", T, product("prod_basic", "Basic")),
    ];
    expect(attributes(raws).planNames).toEqual(["Basic", "Pro"]);
  });

  it("takes the customer discount's coupon name first, else a live subscription's", () => {
    const subDiscount = discount(
      "di_sub",
      { id: "WELCOME", duration: "once", percent_off: 10 },
      { subscription: "sub_1" },
    );
    const withName = { ...subDiscount, coupon: { ...(subDiscount["coupon"] as object), name: "Welcome 10%" } };
    const raws = [
      cust({}),
      sub("sub_1", "active", "Pro", "prod_pro", [withName]),
      // basil lists discounts by id only: the discount object comes as its own event.
      event("customer.discount.created", T, withName),
    ];
    expect(attributes(raws).couponName).toBe("Welcome 10%");
    const own = discount("di_cus", { id: "VIP", duration: "forever", percent_off: 50 }, { customer: CUS });
    expect(attributes([...raws, cust({ discount: own }, T + 1)]).couponName).toBe("VIP");
  });
});

describe("order-insensitivity", () => {
  it("any permutation and duplication of the events gives the same attributes", () => {
    const raws = [
      cust({ balance: -100, address: { country: "FR", city: "Paris" } }, T),
      cust({ balance: 200, delinquent: true }, T + 10),
      event(
        "customer.subscription.created",
        T,
        subscription({ id: "sub_p", customer: CUS, items: [{ id: "price_p", nickname: "Pro" }] }),
      ),
      event(
        "customer.subscription.deleted",
        T + 20,
        subscription({ id: "sub_p", customer: CUS, status: "canceled", items: [{ id: "price_p", nickname: "Pro" }] }),
      ),
      event(
        "customer.subscription.created",
        T + 5,
        subscription({ id: "sub_b", customer: CUS, items: [{ id: "price_b", nickname: "Basic" }] }),
      ),
    ];
    const want = attributes(raws);
    expect(want).toEqual({
      balance: { usd: 200 },
      country: null,
      city: null,
      delinquent: true,
      planNames: ["Basic"],
      couponName: null,
    });
    fc.assert(
      fc.property(
        fc.shuffledSubarray(raws, { minLength: raws.length }),
        fc.array(fc.constantFrom(...raws), { maxLength: 3 }),
        (order, dupes) => {
          expect(attributes([...order, ...dupes])).toEqual(want);
        },
      ),
    );
  });
});
