import { describe, expect, it } from "vitest";
import { benchOutFile } from "./bench-figures.ts";

describe("benchOutFile", () => {
  it("takes --out FILE, --out=FILE, then BENCH_OUT", () => {
    expect(benchOutFile(["--out", "a.jsonl"], { BENCH_OUT: "b" })).toBe("a.jsonl");
    expect(benchOutFile(["--out=c.jsonl"], {})).toBe("c.jsonl");
    expect(benchOutFile([], { BENCH_OUT: "d.jsonl" })).toBe("d.jsonl");
    expect(benchOutFile([], {})).toBeUndefined();
  });

  it("refuses --out without a file", () => {
    expect(() => benchOutFile(["--out"], {})).toThrow("--out needs a file name");
    expect(() => benchOutFile(["--out", "--quick"], {})).toThrow("--out needs a file name");
  });
});
