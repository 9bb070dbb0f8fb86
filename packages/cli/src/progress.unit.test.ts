import { describe, expect, it } from "vitest";
import { createProgress } from "./progress.ts";

const recorder = (isTTY: boolean, everyMs = 5000) => {
  const written: string[] = [];
  let t = 0;
  const progress = createProgress(
    (text) => written.push(text),
    isTTY,
    everyMs,
    () => t,
  );
  return { written, progress, advance: (ms: number) => (t += ms) };
};

describe("createProgress", () => {
  it("rewrites one line in place on a terminal, padding over a longer previous text", () => {
    const { written, progress } = recorder(true);
    progress.update("delivered 100/200");
    progress.update("done 9");
    progress.done();
    expect(written).toEqual(["\rdelivered 100/200", "\rdone 9           ", "\n"]);
  });

  it("writes plain lines into a log: only changes, at most every interval, and the last state at the end", () => {
    const { written, progress, advance } = recorder(false, 5000);
    progress.update("lag 10");
    progress.update("lag 10");
    advance(1000);
    progress.update("lag 5");
    advance(5000);
    progress.update("lag 2");
    advance(100);
    progress.update("lag 1");
    progress.done();
    expect(written).toEqual(["lag 10\n", "lag 2\n", "lag 1\n"]);
    expect(written.join("")).not.toContain("\r");
  });

  it("prints a final text once, whether or not a terminal", () => {
    for (const isTTY of [true, false]) {
      const { written, progress } = recorder(isTTY);
      progress.done("settled");
      expect(written.join("").trim()).toBe("settled");
    }
  });
});
