import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { BrevoTransport } from "../adapters/brevo-transport.ts";
import { type FakeBrevo, startFakeBrevo } from "./fake-brevo.ts";
import { testTransport } from "./harness.ts";
import { type OpenApi, operation, requestSchema, responseSchema, validate } from "./openapi-check.ts";

/**
 * Contract: every request the sink sent to the fake, and every answer the fake gave, matches the
 * schemas of Brevo's official OpenAPI document (read in place, never copied into the project).
 */
const SPEC = fileURLToPath(new URL("../../../../../shared/specs/brevo/swagger_definition_v3.yml", import.meta.url));

// Statuses Brevo may answer on any operation although the document does not list them everywhere.
const UNDECLARED_OK = new Set([401, 429, 500, 503]);

describe.skipIf(!existsSync(SPEC))("fake Brevo against the OpenAPI document", () => {
  let doc: OpenApi;
  let fake: FakeBrevo;
  let transport: BrevoTransport;

  beforeAll(async () => {
    doc = parse(readFileSync(SPEC, "utf8")) as OpenApi;
    fake = await startFakeBrevo({ importDelayMs: 1 });
    transport = testTransport(fake, { maxAttempts: 2 });
    // A scenario touching every operation the sink uses, with successes and refusals.
    await transport.getAttributes();
    await transport.createAttribute("TOTAL_SPENT", "float");
    await transport.createAttribute("LAST_PAYMENT_DATE", "date");
    await transport.upsertContact("cus_1", {
      email: "a@example.com",
      attributes: { TOTAL_SPENT: 12.5, FIRSTNAME: "Ada" },
      listIds: [2],
    });
    await transport.upsertContact("cus_1", { email: "a@example.com", attributes: { TOTAL_SPENT: 13 } });
    await transport.upsertContact("cus_2", { email: "a@example.com", attributes: {} });
    await transport.updateContact("cus_1", {
      attributes: { LAST_PAYMENT_DATE: "2024-01-31", FIRSTNAME: "" },
      listIds: [3],
      unlinkListIds: [2],
    });
    await transport.updateContact("cus_404", { attributes: { TOTAL_SPENT: 1 } });
    await transport.changeList(4, "add", ["cus_1", "cus_missing"]);
    await transport.changeList(4, "remove", ["cus_1"]);
    await transport.importContacts(
      [
        { email: "b@example.com", attributes: { EXT_ID: "cus_3", TOTAL_SPENT: 1.5 } },
        { email: "a@example.com", attributes: { EXT_ID: "cus_4" } },
      ],
      [2],
    );
    const twoImports = [
      await transport.startImport([{ email: "d@example.com", attributes: { EXT_ID: "cus_5" } }], [2]),
      await transport.startImport([{ email: "e@example.com", attributes: { EXT_ID: "cus_6", TOTAL_SPENT: "" } }], [3]),
    ];
    await transport.awaitProcesses(twoImports);
    await transport.createEvent({
      event_name: "payment_failed",
      event_date: "2024-01-31T00:00:00.000Z",
      identifiers: { ext_id: "cus_1" },
      event_properties: { amount_due: 1250, amount_due_display: "12.50", currency: "USD" },
    });
    await transport.deleteContact("cus_3");
    await transport.deleteContact("cus_3");
    await fetch(`${fake.url}/contacts/cus_1?identifierType=ext_id`, { headers: { "api-key": fake.apiKey } });
    await fetch(`${fake.url}/contacts/attributes`, { headers: { "api-key": "wrong" } });
  });
  afterAll(() => fake?.close());

  it("exercised every operation the sink relies on", () => {
    expect(Object.keys(fake.counts()).sort()).toEqual([
      "addContactToList",
      "createAttribute",
      "createContact",
      "createEvent",
      "deleteContact",
      "getAttributes",
      "getContactInfo",
      "getProcess",
      "getProcesses",
      "importContacts",
      "removeContactFromList",
      "updateContact",
    ]);
    // Successes and refusals were both seen.
    const statuses = new Set(fake.log.map((e) => e.status));
    for (const s of [200, 201, 202, 204, 400, 401, 404]) expect(statuses).toContain(s);
  });

  it("requests match the document's request schemas and paths", () => {
    const problems: string[] = [];
    for (const entry of fake.log) {
      const { method, op } = operation(doc, entry.operation);
      expect(method).toBe(entry.method.toLowerCase());
      const schema = requestSchema(doc, op);
      if (schema)
        problems.push(...validate(doc, schema, entry.requestBody).map((p) => `${entry.operation} request ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it("responses match the document's response schemas for their status", () => {
    const problems: string[] = [];
    for (const entry of fake.log) {
      const { op } = operation(doc, entry.operation);
      const { declared, schema } = responseSchema(doc, op, entry.status);
      if (!declared) {
        if (!UNDECLARED_OK.has(entry.status))
          problems.push(`${entry.operation}: status ${entry.status} not in the document`);
        continue;
      }
      if (schema === undefined) {
        if (entry.responseBody !== undefined)
          problems.push(`${entry.operation} ${entry.status}: body where none is declared`);
        continue;
      }
      problems.push(...validate(doc, schema, entry.responseBody).map((p) => `${entry.operation} ${entry.status} ${p}`));
    }
    expect(problems).toEqual([]);
  });

  it("the checker itself catches a wrong body", () => {
    const { op } = operation(doc, "addContactToList");
    const schema = requestSchema(doc, op);
    if (!schema) throw new Error("addContactToList has a request schema");
    expect(validate(doc, schema, { extIds: Array.from({ length: 151 }, (_, i) => `cus_${i}`) })).not.toEqual([]);
    const event = requestSchema(doc, operation(doc, "createEvent").op);
    if (!event) throw new Error("createEvent has a request schema");
    expect(validate(doc, event, { event_name: "x" })).toContain("$.identifiers: required");
  });

  it("imports cannot leave a list: the document has no unlinkListIds there, and the fake refuses it", async () => {
    const schemas = (doc as unknown as { components: { schemas: Record<string, { properties: object }> } }).components
      .schemas;
    const importProps = Object.keys(schemas["requestContactImport"]?.properties ?? {});
    expect(importProps).toContain("listIds");
    expect(importProps).not.toContain("unlinkListIds");
    // Leaving a list is only on PUT /contacts/{identifier} (one contact) and the list calls.
    expect(Object.keys(schemas["updateContact"]?.properties ?? {})).toContain("unlinkListIds");
    const response = await fetch(`${fake.url}/contacts/import`, {
      method: "POST",
      headers: { "api-key": fake.apiKey, "content-type": "application/json" },
      body: JSON.stringify({
        jsonBody: [{ email: "f@example.com", attributes: { EXT_ID: "cus_7" } }],
        listIds: [2],
        unlinkListIds: [3],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_parameter" });
    expect(fake.contactByExtId("cus_7")).toBeUndefined();
  });
});
