import { describe, expect, it } from "vitest";
import { type CpuProfile, moduleOf, summarise } from "./cpu-profile.ts";

const pnpm = "file:///work/main/node_modules/.pnpm/kafkajs@2.2.4/node_modules/kafkajs/src/protocol/decoder.js";
const scoped =
  "file:///r/node_modules/.pnpm/@kafkajs+confluent-schema-registry@3.9.0/node_modules/@kafkajs/confluent-schema-registry/dist/x.js";
const own = "file:///work/main/services/projector/src/domain/derive.ts";

describe("CPU profile summary", () => {
  it("names dependencies by package and this repository's code by file", () => {
    expect(moduleOf(pnpm, "readInt32")).toBe("kafkajs");
    expect(moduleOf(scoped, "decode")).toBe("@kafkajs/confluent-schema-registry");
    expect(moduleOf(own, "deriveCustomer")).toBe("services/projector/src/domain/derive.ts");
    expect(moduleOf("node:internal/buffer", "concat")).toBe("node internals");
    expect(moduleOf("", "(garbage collector)")).toBe("(garbage collector)");
  });

  it("sums self time per module and function, idle left out, largest first", () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
        { id: 2, callFrame: { functionName: "readInt32", url: pnpm, lineNumber: 9 } },
        { id: 3, callFrame: { functionName: "deriveCustomer", url: own, lineNumber: 41 } },
      ],
      samples: [1, 2, 3, 2, 1],
      timeDeltas: [5_000_000, 1_000_000, 500_000, 2_000_000, 7_000_000],
    };
    const summary = summarise(profile);
    expect(summary.totalSeconds).toBeCloseTo(3.5);
    expect(summary.byModule).toEqual([
      ["kafkajs", 3],
      ["services/projector/src/domain/derive.ts", 0.5],
    ]);
    expect(summary.byFunction[0]).toEqual(["readInt32 kafkajs:10", 3]);
  });
});
