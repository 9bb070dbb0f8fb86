import { describe, expect, it } from "vitest";
import { checkPosition, identityMismatch } from "./position-check.ts";

const where = { topic: "t", partition: 2 };
const last = (offset: bigint) => ({ offset, fingerprint: "fp" });

describe("checkPosition", () => {
  it.each([
    // [stored next, last record, low, high, expected]
    ["nothing stored, full log", undefined, 0n, 10n, { action: "resume", from: 0n, verify: null }],
    ["nothing stored, empty log", undefined, 0n, 0n, { action: "resume", from: 0n, verify: null }],
    [
      "caught up, last record readable",
      { next: 10n, last: last(9n) },
      0n,
      10n,
      { action: "resume", from: 9n, verify: last(9n) },
    ],
    [
      "behind, last record readable",
      { next: 5n, last: last(4n) },
      0n,
      10n,
      { action: "resume", from: 4n, verify: last(4n) },
    ],
    [
      "last record deleted by retention, position at the log start",
      { next: 5n, last: last(4n) },
      5n,
      10n,
      { action: "resume", from: 5n, verify: null },
    ],
    [
      "position without a last record (older rows)",
      { next: 5n, last: null },
      0n,
      10n,
      { action: "resume", from: 5n, verify: null },
    ],
  ] as const)("%s", (_name, stored, low, high, expected) => {
    expect(checkPosition(where, stored, { low, high })).toEqual(expected);
  });

  it("halts past the end of the log, naming the rebuild", () => {
    const verdict = checkPosition(where, { next: 1_000_000n, last: last(999_999n) }, { low: 0n, high: 500n });
    expect(verdict).toMatchObject({ action: "halt", reason: "ahead_of_log" });
    expect(verdict.action === "halt" && verdict.detail).toContain("past the end of t[2] (500)");
    expect(verdict.action === "halt" && verdict.detail).toContain("pnpm cli rebuild");
  });

  it("halts below the log start (records deleted before they were applied), naming both fixes", () => {
    const verdict = checkPosition(where, { next: 3n, last: last(2n) }, { low: 40n, high: 100n });
    expect(verdict).toMatchObject({ action: "halt", reason: "below_log_start" });
    expect(verdict.action === "halt" && verdict.detail).toContain("offsets 3..39 of t[2]");
    expect(verdict.action === "halt" && verdict.detail).toContain("pnpm cli accept-gap --topic t --partition 2");
  });

  it("a fresh projector on a log whose start moved halts too: the history is incomplete", () => {
    expect(checkPosition(where, undefined, { low: 7n, high: 9n })).toMatchObject({ reason: "below_log_start" });
  });
});

describe("identityMismatch", () => {
  it("tells a missing record from a different one", () => {
    expect(identityMismatch(where, last(9n), undefined).detail).toContain("has no record at offset 9");
    expect(identityMismatch(where, last(9n), { offset: 9n, fingerprint: "other" }).detail).toContain(
      "holds a different record at offset 9",
    );
  });
});
