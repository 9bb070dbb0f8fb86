import { randomUUID } from "node:crypto";
import { AppError, errorMessage } from "@sbs/shared";

/**
 * A live round trip of every Brevo behaviour the sink relies on that Brevo's OpenAPI document does
 * not settle (README "Brevo behaviour assumed"), on a throwaway contact, list and attributes, with
 * the exact payload shapes the sink sends; everything created is deleted at the end. Each check is
 * ✓ or ✗ with what was seen. Plain fetch: the point is to see Brevo's answers unfiltered.
 */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SelfTestOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** Folder for the throwaway list (Brevo requires one). */
  readonly folderId: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly importTimeoutMs?: number;
}

const TYPES = { TEXT: "text", FLOAT: "float", DATE: "date", BOOL: "boolean" } as const;
const VALUES: Record<keyof typeof TYPES, string | number | boolean> = {
  TEXT: "hello",
  FLOAT: 12.5,
  DATE: "2024-03-01",
  BOOL: true,
};

export async function runSelfTest(opts: SelfTestOptions): Promise<Check[]> {
  const f = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const tag = randomUUID().slice(0, 8).toUpperCase();
  const attr = (k: keyof typeof TYPES) => `SBS_SELFTEST_${tag}_${k}`;
  const extId = `sbs_selftest_${tag.toLowerCase()}`;
  const importExtId = `${extId}_import`;
  const email = `sbs-selftest-${tag.toLowerCase()}@example.com`;
  const importEmail = `sbs-selftest-${tag.toLowerCase()}-import@example.com`;
  let headers: Headers | undefined;

  const api = async (method: string, path: string, body?: unknown) => {
    let response = await send(method, path, body);
    // 429: wait for the window Brevo names (x-sib-ratelimit-reset, seconds), a few times.
    for (let i = 0; response.status === 429 && i < 5; i++) {
      await response.text();
      await sleep(Math.max(1, Number(response.headers.get("x-sib-ratelimit-reset") ?? 1)) * 1000);
      response = await send(method, path, body);
    }
    headers ??= response.headers;
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, ok: response.ok, json: json as Record<string, unknown> | undefined };
  };
  const send = (method: string, path: string, body?: unknown) =>
    f(`${opts.baseUrl.replace(/\/$/, "")}${path}`, {
      method,
      headers: {
        "api-key": opts.apiKey,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const must = async (what: string, method: string, path: string, body?: unknown) => {
    const r = await api(method, path, body);
    if (!r.ok) throw new AppError("self_test_setup", `${what}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    return r;
  };
  const byExtId = (id: string) => api("GET", `/contacts/${encodeURIComponent(id)}?identifierType=ext_id`);
  const cleanup: (() => Promise<unknown>)[] = [];

  try {
    const created: string[] = [];
    for (const k of Object.keys(TYPES) as (keyof typeof TYPES)[]) {
      await must(`creating attribute ${attr(k)}`, "POST", `/contacts/attributes/normal/${attr(k)}`, { type: TYPES[k] });
      created.push(attr(k));
    }
    cleanup.push(async () => {
      for (const a of created) await api("DELETE", `/contacts/attributes/normal/${a}`);
    });
    const list = await must("creating a throwaway list", "POST", "/contacts/lists", {
      name: `sbs-selftest-${tag}`,
      folderId: opts.folderId,
    });
    const listId = Number(list.json?.["id"]);
    cleanup.push(() => api("DELETE", `/contacts/lists/${listId}`));
    cleanup.push(() => api("DELETE", `/contacts/${importExtId}?identifierType=ext_id`));
    cleanup.push(() => api("DELETE", `/contacts/${extId}?identifierType=ext_id`));

    check(
      "rate-limit headers present (x-sib-ratelimit-limit/-remaining/-reset)",
      ["limit", "remaining", "reset"].every((h) => headers?.get(`x-sib-ratelimit-${h}`) !== null),
      ["limit", "remaining", "reset"].map((h) => `${h}=${headers?.get(`x-sib-ratelimit-${h}`)}`).join(" "),
    );

    // 1. Create by ext_id, as pushIncremental's create (POST /contacts, updateEnabled).
    const attributes = Object.fromEntries(
      (Object.keys(TYPES) as (keyof typeof TYPES)[]).map((k) => [attr(k), VALUES[k]]),
    );
    const create = await api("POST", "/contacts", {
      ext_id: extId,
      email,
      attributes,
      listIds: [listId],
      updateEnabled: true,
    });
    const read = await byExtId(extId);
    const got = (read.json?.["attributes"] ?? {}) as Record<string, unknown>;
    check(
      "create by ext_id, then read back by ext_id",
      create.ok &&
        read.ok &&
        read.json?.["email"] === email &&
        ((read.json?.["listIds"] as number[]) ?? []).includes(listId),
      `POST ${create.status}, GET ${read.status}, email=${String(read.json?.["email"])}`,
    );

    // 2. Clear each attribute type with "" (the sink's clear), read back.
    for (const k of Object.keys(TYPES) as (keyof typeof TYPES)[]) {
      const before = got[attr(k)];
      const put = await api("PUT", `/contacts/${extId}?identifierType=ext_id`, { attributes: { [attr(k)]: "" } });
      const after = ((await byExtId(extId)).json?.["attributes"] ?? {}) as Record<string, unknown>;
      const value = after[attr(k)];
      check(
        `"" clears a ${TYPES[k]} attribute (PUT /contacts/{ext_id})`,
        put.ok && before !== undefined && (value === undefined || value === null || value === ""),
        `PUT ${put.status}; before=${JSON.stringify(before)} after=${JSON.stringify(value)}`,
      );
    }

    // 3. Import a row with EXT_ID in its attributes (the sink's bulk row), then read it by ext_id.
    const imp = await api("POST", "/contacts/import", {
      jsonBody: [{ email: importEmail, attributes: { [attr("TEXT")]: "imported", EXT_ID: importExtId } }],
      listIds: [listId],
      updateExistingContacts: true,
      emptyContactsAttributes: true,
      disableNotification: true,
    });
    const processId = Number(imp.json?.["processId"]);
    let status = "";
    for (let waited = 0; imp.ok && waited < (opts.importTimeoutMs ?? 120_000); waited += 1000) {
      status = String((await api("GET", `/processes/${processId}`)).json?.["status"] ?? "");
      if (status === "completed" || status === "failed") break;
      await sleep(waited === 0 ? 200 : 1000);
    }
    const imported = await byExtId(importExtId);
    check(
      "import with EXT_ID in the row's attributes sets the ext_id (read back by ext_id)",
      imp.ok && status === "completed" && imported.ok && imported.json?.["email"] === importEmail,
      `import ${imp.status}, process ${status || "?"}, GET by ext_id ${imported.status}`,
    );

    // 4. List remove/add by ext_id.
    const inList = async () => (((await byExtId(extId)).json?.["listIds"] as number[]) ?? []).includes(listId);
    const rm = await api("POST", `/contacts/lists/${listId}/contacts/remove`, { extIds: [extId] });
    const outAfter = !(await inList());
    const add = await api("POST", `/contacts/lists/${listId}/contacts/add`, { extIds: [extId] });
    const inAfter = await inList();
    check(
      "list remove then add by ext_id",
      rm.ok && add.ok && outAfter && inAfter,
      `remove ${rm.status} (out: ${outAfter}), add ${add.status} (in: ${inAfter})`,
    );

    // 5. An event identified by ext_id.
    const event = await api("POST", "/events", {
      event_name: "sbs_selftest",
      identifiers: { ext_id: extId },
      event_properties: { check: "self-test" },
    });
    check("custom event by ext_id accepted", event.ok, `POST /events ${event.status}`);
  } catch (error) {
    check("setup", false, errorMessage(error));
  } finally {
    for (const undo of cleanup.reverse()) await undo().catch(() => {});
  }
  return checks;
}

export const formatChecks = (checks: readonly Check[]): string =>
  checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.name}: ${c.detail}`).join("\n");
