import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BackfillState, backfillStateSchema, catchUpStateSchema, stateFile } from "./cursor-state.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "sbs-cursor-state-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const state = (lastId: string): BackfillState => ({
  kind: "stripe-backfill",
  version: 1,
  mode: "test",
  since: 1_700_000_000,
  resources: {
    customers: { lastId, lastCreated: 1_700_000_100, done: false, count: 3, updatedAt: "2025-01-01T00:00:00Z" },
  },
});

describe("stateFile", () => {
  it("returns undefined when there is no file, and reads back what it saved", async () => {
    const file = stateFile(join(dir, "nested", "backfill.json"), backfillStateSchema);
    expect(await file.load()).toBeUndefined();
    await file.save(state("cus_1"));
    expect(await file.load()).toEqual(state("cus_1"));
  });

  it("writes through a temp file and rename, leaving no temp file behind", async () => {
    const file = stateFile(join(dir, "backfill.json"), backfillStateSchema);
    await Promise.all([file.save(state("cus_1")), file.save(state("cus_2")), file.save(state("cus_3"))]);
    expect(await readdir(dir)).toEqual(["backfill.json"]);
    // Saves land in call order: the last one wins.
    expect(JSON.parse(await readFile(join(dir, "backfill.json"), "utf8")).resources.customers.lastId).toBe("cus_3");
  });

  it("refuses a corrupt or foreign file with a message naming it", async () => {
    const path = join(dir, "state.json");
    await writeFile(path, "{ not json");
    await expect(stateFile(path, backfillStateSchema).load()).rejects.toThrow(`the state file ${path} is not JSON`);
    await writeFile(path, JSON.stringify(state("cus_1")));
    await expect(stateFile(path, catchUpStateSchema).load()).rejects.toThrow(/is not valid \(kind/);
  });
});
