import { createLogger, createPool, migrate, type Pool } from "@sbs/shared";
import { isolatedSchema, testStack } from "@sbs/shared/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../app.ts";
import type { ContactState } from "../domain/contact-state.ts";
import { createPgProjectionSource } from "./pg-projection-source.ts";
import { createPgSinkState } from "./pg-sink-state.ts";
import { FencedError } from "./sink-state.ts";

/** The fencing, parking and lease SQL of the sink's state on real PostgreSQL. */
const logger = createLogger({ service: "pg-sink-state-int", level: "silent" });
let schema: string;
let drop: () => Promise<void>;
let pool: Pool;

beforeAll(async () => {
  const url = testStack().databaseUrl;
  ({ schema, drop } = await isolatedSchema(url));
  await migrate({ url, dir: MIGRATIONS_DIR, schema, logger });
  pool = createPool({ url, schema, applicationName: "pg-sink-state-int" });
});
afterAll(async () => {
  await pool?.end();
  await drop?.();
});

const contact = (extId: string, email: string): ContactState => ({
  extId,
  email,
  attributes: {},
  lists: [2],
  deleted: false,
});

describe("Postgres sink state", () => {
  it("fences every write of an epoch that is no longer the lease's", async () => {
    const state = createPgSinkState(pool);
    const first = await state.acquireLease("a");
    await state.savePushed([contact("cus_1", "1@example.com")], first);
    await state.setCursor("projection", "c1", first);
    const second = await state.acquireLease("b");
    expect(second).toBe(first + 1);
    expect(await state.leaseEpoch()).toBe(second);
    await expect(state.savePushed([contact("cus_1", "old@example.com")], first)).rejects.toBeInstanceOf(FencedError);
    await expect(state.setCursor("projection", "c0", first)).rejects.toBeInstanceOf(FencedError);
    await expect(state.recordFailures([{ extId: "cus_1", code: "x", reason: "y" }], first)).rejects.toBeInstanceOf(
      FencedError,
    );
    expect((await state.loadPushed(["cus_1"])).get("cus_1")?.email).toBe("1@example.com");
    expect(await state.getCursor("projection")).toBe("c1");
    await state.savePushed([contact("cus_1", "new@example.com")], second);
    expect((await state.loadPushed(["cus_1"])).get("cus_1")?.email).toBe("new@example.com");
  });

  it("parks a failing contact after 3 attempts with a growing wait", async () => {
    const state = createPgSinkState(pool);
    const fail = () => state.recordFailures([{ extId: "cus_p", code: "unavailable", reason: "timeout" }]);
    await fail();
    await fail();
    expect((await state.failedExtIds(10)).map((f) => f.extId)).toContain("cus_p");
    await fail();
    expect((await state.failedExtIds(10)).map((f) => f.extId)).not.toContain("cus_p");
    const wait = async () =>
      Number(
        (
          await pool.query<{ s: string }>(
            "SELECT extract(epoch FROM next_attempt_at - now()) AS s FROM brevo_sync_failures WHERE ext_id = 'cus_p'",
          )
        ).rows[0]?.s,
      );
    const third = await wait();
    expect(third).toBeGreaterThan(55);
    await fail();
    expect(await wait()).toBeGreaterThan(third * 1.9);
  });

  it("keeps a fenced mark through the leader's bookkeeping until the contact is repaired", async () => {
    const state = createPgSinkState(pool);
    await state.discardPushed(["cus_f"], "fenced in a test");
    await state.savePushed([contact("cus_f", "f@example.com")]);
    expect(await state.failedExtIds(10)).toContainEqual({ extId: "cus_f", repair: true });
    await state.savePushed([contact("cus_f", "f@example.com")], undefined, ["cus_f"]);
    expect((await state.failedExtIds(10)).map((f) => f.extId)).not.toContain("cus_f");
  });

  it("keeps an in-flight mark until Brevo's confirmation is recorded, and offers it for retry unless parked", async () => {
    const state = createPgSinkState(pool);
    const epoch = await state.acquireLease("m");
    await state.markInFlight(["cus_m1", "cus_m2", "cus_m3"], epoch);
    await state.markInFlight(["cus_m1"], epoch); // again: the first mark's time stays
    await state.noteImport(["cus_m2"], 4242);
    expect(await state.inFlight(["cus_m1", "cus_m2", "cus_x"])).toEqual(
      new Map([
        ["cus_m1", null],
        ["cus_m2", 4242],
      ]),
    );
    await state.savePushed([contact("cus_m1", "m1@example.com")], epoch);
    expect(await state.inFlight(["cus_m1"])).toEqual(new Map());
    // cus_m3 parked (3 failures): its mark waits for the failure's retry.
    for (let i = 0; i < 3; i++) await state.recordFailures([{ extId: "cus_m3", code: "unavailable", reason: "t" }]);
    const retry = await state.failedExtIds(100);
    expect(retry).toContainEqual({ extId: "cus_m2", repair: false });
    expect(retry.map((r) => r.extId)).not.toContain("cus_m3");
    expect(retry.map((r) => r.extId)).not.toContain("cus_m1");
    await state.clearInFlight(["cus_m2"], epoch);
    expect([...(await state.inFlight(["cus_m2", "cus_m3"])).keys()]).toEqual(["cus_m3"]);
    await state.acquireLease("n");
    await expect(state.markInFlight(["cus_m4"], epoch)).rejects.toBeInstanceOf(FencedError);
    expect(await state.inFlight(["cus_m4"])).toEqual(new Map());
  });

  it("reads the projection's live generation, and undefined when there is no projection_pointer", async () => {
    const source = createPgProjectionSource(pool);
    expect(await source.generation?.()).toBeUndefined();
    await pool.query("CREATE TABLE projection_pointer (generation integer NOT NULL)");
    await pool.query("INSERT INTO projection_pointer VALUES (7)");
    expect(await source.generation?.()).toBe("7");
  });
});
