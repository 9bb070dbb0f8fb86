import type { RequestLogEntry } from "@sbs/brevo-sink/testing/fake-brevo";
import { describe, expect, it } from "vitest";
import { createResendCounter } from "./resends.ts";

const entry = (over: Partial<RequestLogEntry>): RequestLogEntry => ({
  operation: "createContact",
  method: "POST",
  path: "/contacts",
  query: {},
  requestBody: {},
  status: 201,
  responseBody: {},
  fault: undefined,
  ...over,
});
const upsert = (extId: string, total: number, over: Partial<RequestLogEntry> = {}) =>
  entry({ requestBody: { ext_id: extId, attributes: { TOTAL_SPENT: total }, updateEnabled: true }, ...over });

describe("re-send counter", () => {
  it("counts a write that repeats the contact's previous payload, not a changed one", () => {
    const c = createResendCounter();
    expect(c.add([upsert("cus_1", 10), upsert("cus_1", 20), upsert("cus_2", 20)])).toBe(0);
    expect(c.add([upsert("cus_1", 20)])).toBe(1);
    expect(c.total).toBe(1);
    expect(c.writes).toBe(4);
  });

  it("counts the retry after an apply-then-fail (the fake applied it), not one after a refused call", () => {
    const c = createResendCounter();
    c.add([upsert("cus_1", 10, { status: 500, fault: "apply-then-fail" }), upsert("cus_1", 10)]);
    expect(c.total).toBe(1);
    const d = createResendCounter();
    d.add([upsert("cus_1", 10, { status: 503, fault: "5xx" }), upsert("cus_1", 10)]);
    expect(d.total).toBe(0);
  });

  it("reads import rows by their EXT_ID and updates by the path's identifier", () => {
    const c = createResendCounter();
    const row = { email: "a@example.com", attributes: { EXT_ID: "cus_1", TOTAL_SPENT: 5 } };
    const imp = entry({ operation: "importContacts", requestBody: { listIds: [2], jsonBody: [row] }, status: 202 });
    c.add([imp, imp]);
    const put = entry({
      operation: "updateContact",
      method: "PUT",
      path: "/contacts/cus_9",
      requestBody: { attributes: { TOTAL_SPENT: 1 } },
      status: 204,
    });
    c.add([put, put]);
    expect(c.total).toBe(2);
    expect(c.writes).toBe(4);
  });
});
