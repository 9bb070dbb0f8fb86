import { afterEach } from "vitest";
import type { FakeBrevo } from "./fake-brevo.ts";
import { sinkHarness } from "./harness.ts";

/**
 * `sinkHarness` for one test file: call at its top level; every fake Brevo the returned function
 * starts is closed after each test (`closeAll` closes them earlier, e.g. between loop runs).
 * Apart from harness.ts so that harness.ts stays importable outside vitest (crash-child.ts).
 */
export function harnessPerTest() {
  const open: FakeBrevo[] = [];
  const closeAll = async () => {
    await Promise.all(open.splice(0).map((f) => f.close()));
  };
  afterEach(closeAll);
  const harness = async (...args: Parameters<typeof sinkHarness>) => {
    const h = await sinkHarness(...args);
    open.push(h.fake);
    return h;
  };
  return Object.assign(harness, { closeAll });
}
