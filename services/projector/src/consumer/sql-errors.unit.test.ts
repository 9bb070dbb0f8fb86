import { describe, expect, it } from "vitest";
import { deterministicSqlState } from "./sql-errors.ts";

describe("deterministicSqlState", () => {
  it.each([
    ["22P05", "22P05"], // unsupported Unicode escape (NUL in jsonb)
    ["22008", "22008"], // datetime field overflow
    ["23505", "23505"], // unique violation
    ["40001", undefined], // serialization failure: retry
    ["57P01", undefined], // admin shutdown: retry
    ["08006", undefined], // connection failure: retry
    ["ECONNREFUSED", undefined], // Node's code, not an SQLSTATE
  ])("%s", (code, expected) => {
    expect(deterministicSqlState(Object.assign(new Error("x"), { code }))).toBe(expected);
  });

  it("is undefined for anything without a code", () => {
    expect(deterministicSqlState(new Error("x"))).toBeUndefined();
    expect(deterministicSqlState(null)).toBeUndefined();
  });
});
