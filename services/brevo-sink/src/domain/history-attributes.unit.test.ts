import { describe, expect, it } from "vitest";
import { parseSinkConfigText } from "../config-file.ts";
import { customer } from "../testing/customers.ts";
import { desiredContact } from "./desired.ts";
import { usesHistory } from "./sink-config.ts";

/** Issue #17: the optional MRR history attributes, off by default. */

const withHistory = parseSinkConfigText(`
version: 1
attributes:
  MRR_LAST_MOVEMENT: { from: mrr_last_movement }
  MRR_CHANGE_LAST_MONTH: { from: mrr_last_change }
  FIRST_PAID_AT: { from: first_paid_at }
`);

const attributes = (m: ReturnType<typeof customer>) => {
  const d = desiredContact(m, withHistory);
  if (d.kind !== "contact") throw new Error(`expected a contact, got ${d.kind}`);
  return d.state.attributes;
};

describe("MRR history attributes", () => {
  it("are not mapped, and the history not read, by default", () => {
    const plain = parseSinkConfigText("version: 1\n");
    expect(plain.attributes.map((a) => a.attribute)).not.toContain("MRR_LAST_MOVEMENT");
    expect(usesHistory(plain)).toBe(false);
    expect(usesHistory(withHistory)).toBe(true);
  });

  it("a list predicate on a history field also reads the history", () => {
    const listed = parseSinkConfigText(`
version: 1
lists:
  custom:
    - { name: churned_lately, list_id: 9, when: "mrr_last_movement == 'churn'" }
`);
    expect(usesHistory(listed)).toBe(true);
  });

  it("show the contact currency's latest movement in major units, and the first paid day", () => {
    const m = {
      ...customer("cus_1", { currency: "eur" }),
      mrrHistory: {
        firstPaidAt: Date.UTC(2025, 0, 10, 12) / 1000,
        lastMovement: { eur: "contraction", usd: "new" },
        lastChange: { eur: -1250, usd: 900 },
      },
    };
    expect(attributes(m)).toMatchObject({
      MRR_LAST_MOVEMENT: "contraction",
      MRR_CHANGE_LAST_MONTH: -12.5,
      FIRST_PAID_AT: "2025-01-10",
    });
  });

  it("are cleared (null) for a customer without history", () => {
    expect(attributes(customer("cus_2", { currency: "usd" }))).toMatchObject({
      MRR_LAST_MOVEMENT: null,
      MRR_CHANGE_LAST_MONTH: null,
      FIRST_PAID_AT: null,
    });
  });
});
