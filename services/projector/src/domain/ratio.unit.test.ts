import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { add, fromDecimalString, fromNumber, mul, ratio, roundHalfAwayFromZero } from "./ratio.ts";

describe("roundHalfAwayFromZero", () => {
  it.each([
    [ratio(5, 2), 3],
    [ratio(-5, 2), -3],
    [ratio(3, 2), 2],
    [ratio(-3, 2), -2],
    [ratio(7, 3), 2],
    [ratio(-7, 3), -2],
    [ratio(8, 3), 3],
    [ratio(0), 0],
    [ratio(1, 2), 1],
    [ratio(-1, 2), -1],
  ])("%o rounds to %i", (value, expected) => {
    expect(roundHalfAwayFromZero(value)).toBe(expected);
  });

  it("is exact where floating point is not: 1.005 × 1000 cents", () => {
    // 1.005 * 1000 = 1004.9999999999999 in binary floating point.
    expect(roundHalfAwayFromZero(mul(fromNumber(1.005), ratio(1000)))).toBe(1005);
  });

  it("agrees with Math.round on non-negative integers / 2", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        expect(roundHalfAwayFromZero(ratio(n, 2))).toBe(Math.round(n / 2));
      }),
    );
  });

  it("is symmetric around zero", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (n, d) => {
        expect(roundHalfAwayFromZero(ratio(-n, d))).toBe(-roundHalfAwayFromZero(ratio(n, d)) || 0);
      }),
    );
  });
});

describe("decimals", () => {
  it.each([
    ["2000", ratio(2000)],
    ["0.5", ratio(1, 2)],
    ["1234.5678", ratio(12345678, 10000)],
    ["-3.25", ratio(-13, 4)],
  ])("parses %s exactly", (text, expected) => {
    expect(fromDecimalString(text)).toEqual(expected);
  });

  it.each(["", "abc", "1e5", "1.2.3"])("refuses %j", (text) => {
    expect(fromDecimalString(text)).toBeNull();
  });

  it("reads a JSON number as the decimal that was written", () => {
    expect(fromNumber(33.33)).toEqual(ratio(3333, 100));
    expect(fromNumber(25.5)).toEqual(ratio(51, 2));
    expect(add(fromNumber(0.1), fromNumber(0.2))).toEqual(ratio(3, 10));
  });
});
