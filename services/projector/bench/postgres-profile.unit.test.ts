import { describe, expect, it } from "vitest";
import { stateOf } from "./postgres-profile.ts";

describe("stateOf: a pg_stat_activity row in words", () => {
  it("tells the projector's own time (idle, idle in transaction) from the server's", () => {
    expect(stateOf({ state: "idle", wait_event_type: "Client", wait_event: "ClientRead" })).toMatch(/^idle \(no/);
    expect(stateOf({ state: "idle in transaction", wait_event_type: "Client", wait_event: "ClientRead" })).toBe(
      "idle in transaction (JavaScript)",
    );
    expect(stateOf({ state: "active", wait_event_type: null, wait_event: null })).toBe("running SQL (CPU)");
  });

  it("names the lock or the wait an active connection is in", () => {
    expect(stateOf({ state: "active", wait_event_type: "Lock", wait_event: "advisory" })).toBe("lock wait: advisory");
    expect(stateOf({ state: "active", wait_event_type: "IO", wait_event: "WALSync" })).toBe("IO: WALSync");
  });
});
