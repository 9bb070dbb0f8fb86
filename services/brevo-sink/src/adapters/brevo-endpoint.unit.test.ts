import { describe, expect, it } from "vitest";
import { endpointOf } from "./brevo-endpoint.ts";

describe("endpointOf", () => {
  it.each([
    ["POST", "https://api.brevo.com/v3/contacts/import", "POST /contacts/import"],
    ["POST", "https://api.brevo.com/v3/contacts/batch", "POST /contacts/batch"],
    ["PUT", "https://api.brevo.com/v3/contacts/cus_123?identifierType=ext_id", "PUT /contacts/{identifier}"],
    ["GET", "http://127.0.0.1:5555/v3/contacts/a%40b.example", "GET /contacts/{identifier}"],
    ["POST", "https://api.brevo.com/v3/contacts/lists/7/contacts/add", "POST /contacts/lists/{listId}/contacts/add"],
    ["GET", "https://api.brevo.com/v3/processes/42", "GET /processes/{processId}"],
    [
      "POST",
      "https://api.brevo.com/v3/contacts/attributes/normal/LTV",
      "POST /contacts/attributes/normal/{attributeName}",
    ],
    ["post", "https://api.brevo.com/v3/events", "POST /events"],
    ["GET", "not a url", "GET unknown"],
  ])("%s %s -> %s", (method, url, expected) => {
    expect(endpointOf(method, url)).toBe(expected);
  });
});
