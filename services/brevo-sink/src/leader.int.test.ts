import { createLogger } from "@sbs/shared";
import { testStack, uniqueName, withClient } from "@sbs/shared/testing";
import { describe, expect, it } from "vitest";
import { createLeadership } from "./leader.ts";

const stack = testStack();
const logger = createLogger({ service: "leader-test", level: "silent" });

describe("sink leadership (one pusher among several instances)", () => {
  it("lets exactly one instance lead, and a standby take over when the leader goes", async () => {
    const schema = uniqueName("sink").replaceAll("-", "_");
    const a = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger });
    const b = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger });
    try {
      const [first, second] = await Promise.all([a.lead(), b.lead()]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      const [leader, standby] = first ? [a, b] : [b, a];
      expect(await leader.lead()).toBe(true);
      expect(await standby.lead()).toBe(false);
      await leader.release();
      expect(await standby.lead()).toBe(true);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });

  it("notices when its connection dies, and afterwards still exactly one instance leads", async () => {
    const schema = uniqueName("sink").replaceAll("-", "_");
    const a = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger });
    const b = createLeadership({ databaseUrl: stack.databaseUrl, schema, logger });
    try {
      expect(await a.lead()).toBe(true);
      expect(await b.lead()).toBe(false);
      await withClient(stack.databaseUrl, (c) =>
        c.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'brevo-sink-leader' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)",
        ),
      );
      // The killed session took its lock with it: whichever asks first may lead now, never both.
      const after = [await a.lead(), await b.lead()];
      expect(after.filter(Boolean)).toHaveLength(1);
      expect([await a.lead(), await b.lead()]).toEqual(after);
    } finally {
      await Promise.all([a.release(), b.release()]);
    }
  });
});
