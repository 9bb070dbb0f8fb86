import { describe, expect, it } from "vitest";
import { parseDateFlag, positiveInt, UsageError } from "./cli.ts";
import { describeKey, redactKeys } from "./stripe-connection.ts";

describe("parseDateFlag", () => {
  it.each([
    ["2024-01-31", 1_706_659_200],
    ["2024-01-31T12:00:00Z", 1_706_702_400],
    ["2024-01-31T12:00:00.500+01:00", 1_706_698_800],
    ["2024-02-29", 1_709_164_800],
  ])("%s → %i", (value, seconds) => {
    expect(parseDateFlag("--since", value)).toBe(seconds);
  });

  it.each(["yesterday", "2024-02-30", "2024-1-31", "31/01/2024", "2024-01-31T12:00:00", "1706659200", ""])(
    "refuses %j naming the flag and the format",
    (value) => {
      expect(() => parseDateFlag("--since", value)).toThrow(UsageError);
      expect(() => parseDateFlag("--since", value)).toThrow(/^--since: expected a date as YYYY-MM-DD/);
    },
  );
});

describe("positiveInt", () => {
  it("takes the fallback, parses, and refuses out-of-range values naming the flag", () => {
    expect(positiveInt("--page-size", undefined, 100, 100)).toBe(100);
    expect(positiveInt("--page-size", "7", 100, 100)).toBe(7);
    expect(() => positiveInt("--page-size", "101", 100, 100)).toThrow("--page-size: expected an integer from 1 to 100");
    expect(() => positiveInt("--page-size", "1.5", 100)).toThrow("--page-size: expected a positive integer");
  });
});

describe("describeKey", () => {
  it.each([
    ["sk_test_abc123", { prefix: "sk_test_", mode: "test", restricted: false }],
    ["rk_live_abc123", { prefix: "rk_live_", mode: "live", restricted: true }],
  ])("%s", (key, info) => {
    expect(describeKey(key)).toEqual(info);
  });

  it("refuses publishable or malformed keys without echoing them", () => {
    for (const key of ["pk_test_abc123", "whsec_abc", "sk_prod_abc"]) {
      expect(() => describeKey(key)).toThrow(/secret or restricted key/);
      try {
        describeKey(key);
      } catch (error) {
        expect(String(error)).not.toContain(key);
      }
    }
  });

  it("redacts keys inside messages", () => {
    expect(redactKeys("Invalid API Key provided: sk_test_****1234 and rk_live_abcDEF")).toBe(
      "Invalid API Key provided: sk_test_… and rk_live_…",
    );
  });
});
