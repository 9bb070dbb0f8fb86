import { describe, expect, it } from "vitest";
import { parseSinkConfigText } from "../config-file.ts";
import { customer } from "../testing/customers.ts";
import { toMajorUnits } from "./currency.ts";
import { desiredContact } from "./desired.ts";
import { isKnownField } from "./fields.ts";
import { parsePredicate } from "./predicate.ts";

const config = parseSinkConfigText(`
version: 1
attributes:
  VIP_TIER: { from: metadata.customer_tier }
  CHURNED: { from: churned }
lists:
  all_customers: 1
  subscribers: 2
  churned: 3
  trialing: 4
  past_due: 5
  custom:
    - { name: big, list_id: 9, when: "total_spent >= 100000" }
    - { name: gold_or_late, list_id: 10, when: "metadata.customer_tier == 'gold' or subscription_status == 'past_due'" }
`);

const attrs = (c: ReturnType<typeof customer>) => {
  const d = desiredContact(c, config);
  if (d.kind !== "contact") throw new Error(`expected a contact, got ${d.kind}`);
  return d.state;
};

describe("money in major units at the Brevo edge", () => {
  it.each([
    [1999, "usd", 19.99],
    [1999, "eur", 19.99],
    [1999, "jpy", 1999],
    [1999, "JPY", 1999],
    [500, "krw", 500],
    [1999, "kwd", 1.999],
    [1, "bhd", 0.001],
    [10, "usd", 0.1],
    [-250, "usd", -2.5],
    [0, "tnd", 0],
  ])("%d %s → %d", (minor, currency, major) => {
    expect(toMajorUnits(minor, currency)).toBe(major);
  });
});

describe("desired contact", () => {
  it.each([
    ["usd customer", { currency: "usd", totalSpent: { usd: 123456 } }, 1234.56],
    ["jpy customer", { currency: "jpy", totalSpent: { jpy: 5000 } }, 5000],
    ["kwd customer", { currency: "kwd", totalSpent: { kwd: 12345 } }, 12.345],
    ["no customer currency, one currency seen", { totalSpent: { eur: 990 } }, 9.9],
    ["other currencies left out", { currency: "usd", totalSpent: { usd: 100, eur: 999999 } }, 1],
    ["never paid", { currency: "usd" }, 0],
  ])("TOTAL_SPENT for %s", (_label, overrides, expected) => {
    expect(attrs(customer("cus_1", overrides)).attributes["TOTAL_SPENT"]).toBe(expected);
  });

  it("types every value for its Brevo attribute, with nulls for what is missing", () => {
    const s = attrs(
      customer("cus_1", {
        email: "  Ada@Example.COM ",
        name: "Ada King Lovelace",
        phone: "+33612345678",
        currency: "usd",
        paymentCount: 3,
        totalSpent: { usd: 4500 },
        averageOrderValue: { usd: 1500 },
        lastPaymentAt: 1_700_000_000,
        subscriptionStatus: "active",
        planName: "Pro",
        mrr: { usd: 2900 },
        subscriptionStartedAt: 1_690_000_000,
        metadata: { customer_tier: "gold" },
      }),
    );
    expect(s).toEqual({
      extId: "cus_1",
      email: "ada@example.com",
      deleted: false,
      lists: [1, 2, 10],
      attributes: {
        AOV: 15,
        CHURNED: false,
        CURRENCY: "USD",
        FIRSTNAME: "Ada",
        LASTNAME: "King Lovelace",
        LAST_PAYMENT_DATE: "2023-11-14",
        MONTHLY_REVENUE: 29,
        PAYMENT_COUNT: 3,
        PLAN_NAME: "Pro",
        SMS: "+33612345678",
        SUB_START_DATE: "2023-07-22",
        SUB_STATUS: "active",
        TOTAL_SPENT: 45,
        VIP_TIER: "gold",
      },
    });
    const bare = attrs(customer("cus_2", { name: "Cher" }));
    expect(bare.attributes).toMatchObject({
      FIRSTNAME: "Cher",
      LASTNAME: null,
      AOV: null,
      SUB_STATUS: null,
      VIP_TIER: null,
    });
  });

  it.each([
    ["everyone", {}, [1]],
    ["active", { subscriptionStatus: "active" }, [1, 2]],
    ["past_due", { subscriptionStatus: "past_due" }, [1, 2, 5, 10]],
    ["trialing", { subscriptionStatus: "trialing" }, [1, 4]],
    ["churned", { subscriptionStatus: "canceled", churned: true }, [1, 3]],
    ["big spender (minor units)", { currency: "usd", totalSpent: { usd: 100000 } }, [1, 9]],
    ["just below", { currency: "usd", totalSpent: { usd: 99999 } }, [1]],
  ])("lists: %s", (_label, overrides, lists) => {
    expect(attrs(customer("cus_1", overrides)).lists).toEqual(lists);
  });

  it("skips customers without an email and marks deleted ones", () => {
    expect(desiredContact(customer("cus_1", { email: null }), config)).toEqual({
      kind: "skip",
      extId: "cus_1",
      reason: "no_email",
    });
    expect(desiredContact(customer("cus_1", { email: " " }), config).kind).toBe("skip");
    expect(desiredContact(customer("cus_1", { deleted: true, email: null }), config)).toEqual({
      kind: "deleted",
      extId: "cus_1",
    });
  });
});

describe("predicates", () => {
  it.each([
    ["total_spent >= 100000", true],
    ["total_spent > 1 and churned == false", true],
    ["churned == true or payment_count > 2", true],
    ["churned == true", false],
    ["plan_name == null", true],
    ["mrr < 5", true],
  ])("%s", (text, expected) => {
    const parsed = parsePredicate(text, isKnownField);
    if (!parsed.ok) throw new Error(parsed.error);
    const c = customer("cus_1", { currency: "usd", totalSpent: { usd: 100000 }, paymentCount: 3 });
    const d = desiredContact(c, {
      ...config,
      lists: [{ name: "t", listId: 99, predicate: parsed.predicate }],
    });
    expect(d.kind === "contact" && d.state.lists.includes(99)).toBe(expected);
  });

  it.each(["", "total_spent", "total_spent >= x", "total_spent >> 1", "total_spent >= 1 and", "a == 1"])(
    "%j is refused",
    (text) => {
      expect(parsePredicate(text, isKnownField).ok).toBe(false);
    },
  );
});
