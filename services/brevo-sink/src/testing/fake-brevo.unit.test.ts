import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeBrevo, startFakeBrevo } from "./fake-brevo.ts";

/** The fake's own behaviour: the Brevo rules the sink depends on (DOMAIN.md §3). */
describe("fake Brevo", () => {
  let fake: FakeBrevo;
  const call = async (method: string, path: string, body?: unknown, key = fake.apiKey) => {
    const res = await fetch(`${fake.url}${path}`, {
      method,
      headers: { "api-key": key, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
      headers: res.headers,
    };
  };

  beforeAll(async () => {
    fake = await startFakeBrevo({ rateLimits: { contacts: { perSecond: 5, perHour: 1000 } }, importDelayMs: 20 });
  });
  afterAll(() => fake.close());

  it("wants the api-key header", async () => {
    expect((await call("GET", "/contacts/attributes", undefined, "nope")).status).toBe(401);
  });

  it("keeps attributes UPPER_CASE and typed, and silently ignores wrong-typed or unknown values", async () => {
    expect((await call("POST", "/contacts/attributes/normal/total_spent", { type: "float" })).status).toBe(400);
    expect((await call("POST", "/contacts/attributes/normal/TOTAL_SPENT", { type: "float" })).status).toBe(201);
    const created = await call("POST", "/contacts", {
      email: "A@example.com",
      ext_id: "cus_1",
      attributes: { TOTAL_SPENT: "12.5", NOPE: 1, FIRSTNAME: "Ada" },
    });
    expect(created.status).toBe(201);
    expect(fake.contactByExtId("cus_1")?.attributes).toEqual({ FIRSTNAME: "Ada" });
    expect(fake.ignoredValues.map((v) => v.attribute)).toEqual(["TOTAL_SPENT", "NOPE"]);
  });

  it("keeps email, SMS and ext_id unique with duplicate_parameter; 404 document_not_found on PUT", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const dup = await call("POST", "/contacts", { email: "a@example.com", ext_id: "cus_2", updateEnabled: true });
    expect(dup).toMatchObject({ status: 400, body: { code: "duplicate_parameter" } });
    await call("POST", "/contacts", { email: "b@example.com", ext_id: "cus_2", attributes: { SMS: "+3361" } });
    const sms = await call("PUT", "/contacts/cus_1?identifierType=ext_id", { attributes: { SMS: "+3361" } });
    expect(sms).toMatchObject({ status: 400, body: { code: "duplicate_parameter" } });
    const missing = await call("PUT", "/contacts/cus_9?identifierType=ext_id", { attributes: {} });
    expect(missing).toMatchObject({ status: 404, body: { code: "document_not_found" } });
  });

  it("takes at most 150 identifiers per list call and answers success/failure", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const tooMany = await call("POST", "/contacts/lists/7/contacts/add", {
      extIds: Array.from({ length: 151 }, (_, i) => `x${i}`),
    });
    expect(tooMany.status).toBe(400);
    const added = await call("POST", "/contacts/lists/7/contacts/add", { extIds: ["cus_1", "cus_404"] });
    expect(added).toMatchObject({ status: 201, body: { contacts: { success: ["cus_1"], failure: ["cus_404"] } } });
  });

  it("reports x-sib-ratelimit-* on every response and answers 429 past the limit", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await call("GET", "/contacts/attributes"));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(answers.map((a) => a.headers.get("x-sib-ratelimit-remaining"))).toEqual(["4", "3", "2", "1", "0", "0", "0"]);
    expect(answers[5]?.headers.get("x-sib-ratelimit-reset")).toBe("1");
  });

  it("imports asynchronously through a process", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const started = await call("POST", "/contacts/import", {
      jsonBody: [{ email: "c@example.com", attributes: { EXT_ID: "cus_3", FIRSTNAME: "Cy" } }],
      listIds: [8],
    });
    expect(started.status).toBe(202);
    const id = started.body?.["processId"];
    expect((await call("GET", `/processes/${id}`)).body?.["status"]).toBe("in_process");
    expect(fake.contactByExtId("cus_3")).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect((await call("GET", `/processes/${id}`)).body?.["status"]).toBe("completed");
    expect(fake.contactByExtId("cus_3")?.listIds.has(8)).toBe(true);
  });

  it("injects faults: apply-then-fail applies the change and still answers 500", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    fake.inject({ kind: "apply-then-fail", operations: ["createEvent"] });
    const r = await call("POST", "/events", { event_name: "x", identifiers: { ext_id: "cus_1" } });
    expect(r.status).toBe(500);
    expect(fake.events).toHaveLength(1);
  });
});
