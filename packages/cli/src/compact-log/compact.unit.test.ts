import { describe, expect, it } from "vitest";
import { byBytes, compactedName, keyId } from "./compact.ts";

describe("compact-log helpers", () => {
  it("reads the id out of ingest's routing key", () => {
    expect(keyId(Buffer.from("platform:cus_1"))).toBe("cus_1");
    expect(keyId(Buffer.from("acct_9:dp_2"))).toBe("dp_2");
    expect(keyId(null)).toBeUndefined();
  });

  it("cuts produce batches below the broker's message size, keeping order and every record", () => {
    const messages = Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: Buffer.alloc(1100) }));
    const chunks = byBytes(messages, 512 * 1024);
    expect(chunks.length).toBeGreaterThan(4);
    for (const c of chunks)
      expect(c.reduce((n, m) => n + (m.value as Buffer).length, 0)).toBeLessThanOrEqual(512 * 1024);
    expect(chunks.flat()).toEqual(messages);
    // A record larger than the limit still goes, alone.
    expect(
      byBytes(
        [
          { key: "k", value: Buffer.alloc(10) },
          { key: "big", value: Buffer.alloc(2000) },
        ],
        1000,
      ),
    ).toHaveLength(2);
  });

  it("names the copy after the topic, replacing an earlier copy's suffix", () => {
    const at = new Date("2026-12-02T01:30:00Z");
    expect(compactedName("stripe.events.test", at)).toBe("stripe.events.test.c202612020130");
    expect(compactedName("stripe.events.test.c202611250300", at)).toBe("stripe.events.test.c202612020130");
  });
});
