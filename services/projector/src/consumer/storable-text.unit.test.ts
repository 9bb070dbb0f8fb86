import { describe, expect, it } from "vitest";
import { needsStorableText, toStorableText } from "./storable-text.ts";

describe("text Postgres can store", () => {
  it.each([
    ["plain ASCII", '{"name":"Ada"}', false],
    ["non-ASCII as UTF-8", '{"name":"Zoë 😀"}', false],
    ["escaped NUL", '{"name":"A\\u0000"}', true],
    ["escaped surrogate pair (valid, still looked at)", '{"name":"\\ud83d\\ude00"}', true],
    ["escaped lone surrogate", '{"name":"\\udc00"}', true],
  ])("%s: looked at = %s", (_name, json, expected) => {
    expect(needsStorableText(json)).toBe(expected);
  });

  it("replaces NUL and unpaired surrogates with U+FFFD in values and keys, keeps pairs and everything else", () => {
    const parsed = JSON.parse(
      '{"a\\u0000":["x\\u0000y","\\ud800","\\udc00z","\\ud83d\\ude00",1,null,true],"n":{"m":"\\u0000"}}',
    );
    expect(toStorableText(parsed)).toEqual({
      "a\uFFFD": ["x\uFFFDy", "\uFFFD", "\uFFFDz", "😀", 1, null, true],
      n: { m: "\uFFFD" },
    });
  });
});
