import { createLogger } from "@sbs/shared";
import { testStack, uniqueName, withClient } from "@sbs/shared/testing";
import { describe, expect, it } from "vitest";
import { createMemorySinkState } from "./adapters/memory-sink-state.ts";
import { createLeadership } from "./leader.ts";

const stack = testStack();
const logger = createLogger({ service: "leader-test", level: "silent" });

describe("sink leadership (one pusher among several instances)", () => {
  it("lets exactly one instance lead, and a standby take over when the leader goes, under a new epoch", async () => {
    const schema = uniqueName("sink").replaceAll("-", "_");
    const lease = createMemorySinkState();
    const a = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger, lease });
    const b = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger, lease });
    try {
      const [first, second] = await Promise.all([a.lead(), b.lead()]);
      expect([first, second].filter((e) => e !== undefined)).toEqual([1]);
      const [leader, standby] = first !== undefined ? [a, b] : [b, a];
      expect(await leader.lead()).toBe(1);
      expect(await standby.lead()).toBeUndefined();
      await leader.release();
      expect(await standby.lead()).toBe(2);
      expect(await lease.leaseEpoch()).toBe(2);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  it("notices when its connection dies, and afterwards still exactly one instance leads", async () => {
    const schema = uniqueName("sink").replaceAll("-", "_");
    const lease = createMemorySinkState();
    const a = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger, lease });
    const b = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger, lease });
    try {
      expect(await a.lead()).toBe(1);
      expect(await b.lead()).toBeUndefined();
      await withClient(stack.databaseUrl, (c) =>
        c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'brevo-sink-leader' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
        ),
      );
      // The killed session took its lock with it: whichever asks first may lead now, never both.
      const after = [await a.lead(), await b.lead()];
      expect(after.filter((e) => e !== undefined)).toEqual([2]);
      expect([await a.lead(), await b.lead()]).toEqual(after);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  it("steps down when the lease moved although it still holds the lock (e.g. a transaction pooler)", async () => {
    const schema = uniqueName("sink").replaceAll("-", "_");
    const lease = createMemorySinkState();
    const a = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger, lease });
    try {
      expect(await a.lead()).toBe(1);
      await lease.acquireLease("someone else");
      expect(await a.lead()).toBeUndefined();
    } finally {
      await a.release();
    }
  });
});
