import { randomBytes } from "node:crypto";
import { Partitioners } from "kafkajs";
import { describe, expect, it } from "vitest";
import { partitionOfKey, recordKey } from "./record-key.ts";

describe("partitionOfKey", () => {
  const metadata = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      partitionId: i,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));

  it("picks the partition kafkajs's default partitioner picks, for any key and partition count", () => {
    const partitioner = Partitioners.DefaultPartitioner();
    const keys = [
      "",
      "a",
      "ab",
      "abc",
      "abcd",
      recordKey(null, "cus_NffrFeUfNV2Hib"),
      recordKey("acct_1032D82eZvKYlo2C", "cus_9s6XKzkNRiz8i3"),
      "ünïcødé:客户",
      ...Array.from({ length: 2000 }, (_, i) =>
        recordKey(i % 3 ? null : "acct_x", randomBytes(1 + (i % 23)).toString("base64url")),
      ),
    ];
    for (const n of [1, 2, 3, 6, 12, 64]) {
      for (const key of keys) {
        const expected = partitioner({ topic: "t", partitionMetadata: metadata(n), message: { key, value: null } });
        expect(partitionOfKey(key, n), `${key} over ${n}`).toBe(expected);
      }
    }
  });

  it("keys platform events by the platform account", () => {
    expect(recordKey(null, "cus_1")).toBe("platform:cus_1");
    expect(recordKey("acct_9", "cus_1")).toBe("acct_9:cus_1");
  });
});
