import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSinkConfigText, SinkConfigError } from "./config-file.ts";

const SAMPLE = new URL("../sink.sample.yaml", import.meta.url);

const problems = (yaml: string): string[] => {
  try {
    parseSinkConfigText(yaml);
  } catch (error) {
    if (error instanceof SinkConfigError) return [...error.problems];
    throw error;
  }
  return [];
};

describe("sink config file", () => {
  it("parses the shipped sample with the default mapping, lists and events", () => {
    const config = parseSinkConfigText(readFileSync(SAMPLE, "utf8"));
    const attrs = Object.fromEntries(config.attributes.map((a) => [a.attribute, `${a.from}:${a.type}`]));
    expect(attrs).toMatchObject({
      TOTAL_SPENT: "total_spent:float",
      PAYMENT_COUNT: "payment_count:float",
      LAST_PAYMENT_DATE: "last_payment_at:date",
      AOV: "average_order_value:float",
      SUB_STATUS: "subscription_status:text",
      PLAN_NAME: "plan_name:text",
      MONTHLY_REVENUE: "mrr:float",
      SUB_START_DATE: "subscription_started_at:date",
      FIRSTNAME: "name.first:text",
      LASTNAME: "name.last:text",
      SMS: "phone:text",
      VIP_TIER: "metadata.customer_tier:text",
    });
    expect(config.lists.map((l) => l.name)).toEqual(
      expect.arrayContaining(["all_customers", "subscribers", "churned", "big_spenders"]),
    );
    expect(config.events.mapping["invoice.payment_failed"]).toBe("payment_failed");
  });

  it("defaults everything from an almost empty file", () => {
    const config = parseSinkConfigText("version: 1\n");
    expect(config.deletedPolicy).toBe("delete_contact");
    expect(config.attributes.length).toBeGreaterThan(10);
    expect(config.lists).toEqual([]);
  });

  it.each([
    ["version: 2", "version: expected 1"],
    ["version: 1\nattributes:\n  total_spent: { from: total_spent }", "attributes.total_spent"],
    [
      "version: 1\nattributes:\n  LTV: { from: lifetime_value }",
      'attributes.LTV.from: unknown read-model field "lifetime_value"',
    ],
    [
      "version: 1\nattributes:\n  TOTAL_SPENT: { from: total_spent, type: date }",
      "attributes.TOTAL_SPENT.type: total_spent is money",
    ],
    ["version: 1\nattributes:\n  EMAIL: { from: email }", "attributes.EMAIL: EMAIL is an identifier"],
    ["version: 1\nlists:\n  subscribers: -3", "lists.subscribers"],
    [
      "version: 1\nlists:\n  custom:\n    - { name: vip, list_id: 9, when: 'ltv >= 3' }",
      'lists.custom[0].when: unknown field "ltv"',
    ],
    [
      "version: 1\nlists:\n  custom:\n    - { name: vip, list_id: 9, when: 'total_spent >= ' }",
      "lists.custom[0].when: incomplete",
    ],
    ["version: 1\nlists:\n  custom:\n    - { name: vip, list_id: 9 }", "lists.custom[0].when: required"],
    ["version: 1\ndeleted_customers: forget", "deleted_customers"],
    ["version: 1\nevents:\n  mapping:\n    invoice.paid: 'has space'", "events.mapping.invoice.paid"],
    ["version: 1\nunknown_key: 1", "(root)"],
    ["version: 1\nversion: 1", "line 2"],
  ])("%j is refused naming %j", (yaml, expected) => {
    const found = problems(yaml);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join("\n")).toContain(expected);
  });

  it("reports every problem at once", () => {
    expect(problems("version: 1\ndeleted_customers: x\nlists:\n  churned: 0")).toHaveLength(2);
  });
});
