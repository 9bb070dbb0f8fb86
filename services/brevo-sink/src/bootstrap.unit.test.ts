import { AppError, createLogger } from "@sbs/shared";
import { afterEach, describe, expect, it } from "vitest";
import { bootstrapAttributes, bootstrapWhenReachable } from "./bootstrap.ts";
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

  it("lets two instances start at the same moment: the one that loses the race to create an attribute carries on", async () => {
    // Found by the chaos soak: both sinks read the attributes, both created AOV, the second got
    // 400 "Attribute name must be unique" and exited.
    // Above the plan's 10/s on attribute calls, so the race is not slowed down by 429 waits.
    const fake = await startFakeBrevo({
      latency: { maxMs: 20, seed: 4 },
      rateLimits: { other: { perSecond: 1000, perHour: 100_000 } },
    });
    fakes.push(fake);
    const [a, b] = await Promise.all([
      bootstrapAttributes(testTransport(fake), config, logger),
      bootstrapAttributes(testTransport(fake), config, logger),
    ]);
    expect(fake.log.some((e) => e.operation === "createAttribute" && e.status === 400)).toBe(true);
    expect([...a.created, ...b.created].sort()).toEqual([...new Set([...a.created, ...b.created])].sort());
    expect(fake.attributes.get("VIP_TIER")).toBe("text");
    expect((await bootstrapAttributes(testTransport(fake), config, logger)).created).toEqual([]);
  }, 20_000);

  it("still fails when creating an attribute fails and it does not exist afterwards", async () => {
    const fake = await startFakeBrevo();
    fakes.push(fake);
    fake.inject({ kind: "5xx", operations: ["createAttribute"], times: 10 });
    await expect(bootstrapAttributes(testTransport(fake), config, logger)).rejects.toThrow();
  });
});

describe("attribute bootstrap at startup", () => {
  it("waits for Brevo while it is unreachable, backing off, then bootstraps", async () => {
    const fake = await startFakeBrevo();
    fakes.push(fake);
    const transport = testTransport(fake);
    let down = 2;
    const flaky = {
      ...transport,
      getAttributes: async () => {
        if (down-- > 0)
          throw new AppError("brevo_unavailable", "GET /contacts/attributes: timeout", { retriable: true });
        return transport.getAttributes();
      },
    };
    const waits: number[] = [];
    const { created } = await bootstrapWhenReachable(flaky, config, logger, {
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(waits).toEqual([1000, 2000]);
    expect(created).toContain("VIP_TIER");
  });

  it("stops at once on what Brevo refused for good", async () => {
    const fake = await startFakeBrevo({ attributes: { TOTAL_SPENT: "text" } });
    fakes.push(fake);
    const waits: number[] = [];
    await expect(
      bootstrapWhenReachable(testTransport(fake), config, logger, { sleep: async (ms) => void waits.push(ms) }),
    ).rejects.toThrow(/refusing to start/);
    expect(waits).toEqual([]);
  });
});
