import { describe, expect, it } from "vitest";
import { createLogThrottle } from "./log-throttle.ts";

describe("createLogThrottle", () => {
  it("logs once per key per interval and reports how many it held back", () => {
    let t = 0;
    const throttle = createLogThrottle(1000, () => t);
    const logged: [string, number][] = [];
    const log = (key: string) => throttle(key, (suppressed) => logged.push([key, suppressed]));
    log("overloaded");
    log("overloaded");
    log("overloaded");
    log("kafka_unavailable");
    t = 999;
    log("overloaded");
    t = 1000;
    log("overloaded");
    expect(logged).toEqual([
      ["overloaded", 0],
      ["kafka_unavailable", 0],
      ["overloaded", 3],
    ]);
  });
});
