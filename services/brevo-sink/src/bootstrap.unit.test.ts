import { createLogger } from "@sbs/shared";
import { afterEach, describe, expect, it } from "vitest";
import { bootstrapAttributes } from "./bootstrap.ts";
import { parseSinkConfigText } from "./config-file.ts";
import { type FakeBrevo, startFakeBrevo } from "./testing/fake-brevo.ts";
import { testTransport } from "./testing/harness.ts";

const logger = createLogger({ service: "test", level: "silent" });
const config = parseSinkConfigText("version: 1\nattributes:\n  VIP_TIER: { from: metadata.customer_tier }\n");
const fakes: FakeBrevo[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

describe("attribute bootstrap", () => {
  it("creates the missing attributes with their types, then has nothing left to do", async () => {
    const fake = await startFakeBrevo();
    fakes.push(fake);
    const transport = testTransport(fake);
    const { created } = await bootstrapAttributes(transport, config, logger);
    expect(created).not.toContain("FIRSTNAME"); // exists in every account
    expect(Object.fromEntries(fake.attributes)).toMatchObject({
      TOTAL_SPENT: "float",
      PAYMENT_COUNT: "float",
      LAST_PAYMENT_DATE: "date",
      AOV: "float",
      SUB_STATUS: "text",
      PLAN_NAME: "text",
      MONTHLY_REVENUE: "float",
      SUB_START_DATE: "date",
      VIP_TIER: "text",
      CURRENCY: "text",
    });
    expect((await bootstrapAttributes(transport, config, logger)).created).toEqual([]);
  });

  it("refuses to start when a mapped attribute exists with another type, naming it and the fix", async () => {
    const fake = await startFakeBrevo({
      attributes: { FIRSTNAME: "text", LASTNAME: "text", SMS: "text", TOTAL_SPENT: "text" },
    });
    fakes.push(fake);
    const transport = testTransport(fake);
    await expect(bootstrapAttributes(transport, config, logger)).rejects.toThrow(
      /refusing to start: TOTAL_SPENT exists in Brevo as text but the config writes float values/,
    );
    expect(fake.counts()["createAttribute"]).toBeUndefined();
  });
});
