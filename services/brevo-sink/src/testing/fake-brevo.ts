import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake Brevo API v3 on 127.0.0.1:<random port>, for tests, benchmarks and running the pipeline
 * without a Brevo account. It follows the contract of Brevo's OpenAPI document and the behaviour
 * DOMAIN.md §3 records: api-key auth, UPPER_CASE attributes that must exist, wrong-typed values
 * silently ignored, contacts unique by email, SMS and ext_id (400 duplicate_parameter), list
 * calls of at most 150 identifiers answered with success/failure arrays, asynchronous imports
 * with processes, rate limits with x-sib-ratelimit-* headers and 429, and injectable faults.
 * Where Brevo's behaviour is not documented the choice made here is marked ASSUMPTION.
 */

export type AttributeType = "text" | "float" | "date" | "boolean" | "id" | "category" | "multiple-choice";
export type Scalar = string | number | boolean;

export interface FakeContact {
  readonly id: number;
  email: string | null;
  extId: string | null;
  attributes: Record<string, Scalar>;
  listIds: Set<number>;
  createdAt: string;
  modifiedAt: string;
}

export interface FakeEvent {
  readonly eventName: string;
  readonly identifiers: Record<string, unknown>;
  readonly eventDate: string | undefined;
  readonly properties: unknown;
}

export interface RequestLogEntry {
  readonly operation: string;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly requestBody: unknown;
  readonly status: number;
  readonly responseBody: unknown;
  /** A fault replaced or followed the normal handling. */
  readonly fault: FaultKind | undefined;
}

export type FaultKind = "5xx" | "timeout" | "apply-then-fail" | "429" | "403";
export interface Fault {
  readonly kind: FaultKind;
  /** Operation ids (createContact, updateContact, importContacts, createEvent…); all when absent. */
  readonly operations?: readonly string[];
  /** How many requests it hits; 1 when absent. */
  times?: number;
}

export interface RateLimit {
  readonly perSecond: number;
  readonly perHour: number;
}

export interface FakeBrevoOptions {
  readonly apiKey?: string;
  /** Plan limits per rate-limit group (DOMAIN.md §3): /contacts/* and /events 10/s 36,000/h; the rest 100/h. */
  readonly rateLimits?: Partial<Record<"contacts" | "events" | "other", RateLimit>>;
  /** How long an import stays queued before it is applied. */
  readonly importDelayMs?: number;
  /** A timeout fault holds the response this long before dropping the connection. */
  readonly timeoutFaultMs?: number;
  /** Random faults on a fraction of requests, from a seeded generator (reproducible). */
  readonly randomFaults?: { readonly rate: number; readonly kinds: readonly FaultKind[]; readonly seed: number };
  /** Attributes a new Brevo account has. ASSUMPTION: FIRSTNAME, LASTNAME and SMS, all text. */
  readonly attributes?: Readonly<Record<string, AttributeType>>;
  readonly now?: () => number;
  /** Each request waits a random 0..maxMs before it is handled (seeded), so parallel calls race. */
  readonly latency?: { readonly maxMs: number; readonly seed: number };
  /**
   * How `GET /processes/{id}` reports import failures: `csv` (default) as Brevo's SDK documents,
   * URLs of CSV files the fake serves; `identifiers`, comma-separated ids inline (what this fake
   * used to do, for checking that the sink does not take it for "no failures").
   */
  readonly importReports?: "csv" | "identifiers";
  /**
   * The undocumented behaviours the sink relies on (README "Brevo behaviour assumed"), switchable
   * to the opposite so the live self-test can be shown to catch them: `emptyClears` ("" clears an
   * attribute of any type; false: ignored, as the document's "values not matching the type will be
   * ignored" could mean), `importExtId` (EXT_ID in an import row sets the ext_id; false: ignored).
   */
  readonly assumptions?: { readonly emptyClears?: boolean; readonly importExtId?: boolean };
}

interface Process {
  id: number;
  status: "queued" | "in_process" | "completed";
  info: { import: Record<string, string> } | undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly metadata?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const MAX_LIST_IDENTIFIERS = 150;
/** `requestContactImport`'s properties in Brevo's OpenAPI document. */
const IMPORT_PROPERTIES = new Set([
  "fileUrl",
  "fileBody",
  "jsonBody",
  "listIds",
  "notifyUrl",
  "newList",
  "emailBlacklist",
  "disableNotification",
  "smsBlacklist",
  "updateExistingContacts",
  "emptyContactsAttributes",
]);
const DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface FakeBrevo {
  readonly url: string;
  readonly apiKey: string;
  readonly contacts: ReadonlyMap<number, FakeContact>;
  readonly events: readonly FakeEvent[];
  readonly attributes: ReadonlyMap<string, AttributeType>;
  readonly log: readonly RequestLogEntry[];
  /** Report files served under /files/ (import failure reports), by URL path. */
  readonly files: Map<string, string>;
  /** Values dropped because the attribute is missing or the type is wrong (Brevo says nothing). */
  readonly ignoredValues: readonly { readonly attribute: string; readonly value: unknown; readonly why: string }[];
  /** Requests per operation id. */
  counts(): Record<string, number>;
  contactByExtId(extId: string): FakeContact | undefined;
  inject(fault: Fault): void;
  clearFaults(): void;
  setRandomFaults(options: FakeBrevoOptions["randomFaults"] | undefined): void;
  resetLog(): void;
  close(): Promise<void>;
}

export async function startFakeBrevo(options: FakeBrevoOptions = {}): Promise<FakeBrevo> {
  const apiKey = options.apiKey ?? "xkeysib-fake";
  const now = options.now ?? Date.now;
  const limits: Record<"contacts" | "events" | "other", RateLimit> = {
    contacts: { perSecond: 10, perHour: 36_000 },
    events: { perSecond: 10, perHour: 36_000 },
    other: { perSecond: 10, perHour: 100 },
    ...options.rateLimits,
  };
  const hits: Record<string, number[]> = { contacts: [], events: [], other: [] };
  const contacts = new Map<number, FakeContact>();
  const attributes = new Map<string, AttributeType>(
    Object.entries(options.attributes ?? { FIRSTNAME: "text", LASTNAME: "text", SMS: "text" }),
  );
  const events: FakeEvent[] = [];
  const processes = new Map<number, Process>();
  const log: RequestLogEntry[] = [];
  const ignoredValues: { attribute: string; value: unknown; why: string }[] = [];
  const faults: Fault[] = [];
  let random = options.randomFaults;
  let rng = mulberry32(random?.seed ?? 1);
  let nextContactId = 1;
  let nextProcessId = 1;
  const pending = new Set<NodeJS.Timeout>();
  const files = new Map<string, string>();
  // Lists created through the API (the sink's configured list ids are taken on trust, as before).
  const lists = new Set<number>();
  let nextListId = 1000;
  let baseUrl = "";
  const latencyRng = mulberry32(options.latency?.seed ?? 1);

  // --- identity indexes: Brevo keeps email, SMS and ext_id unique
  const findBy = (pred: (c: FakeContact) => boolean): FakeContact | undefined => {
    for (const c of contacts.values()) if (pred(c)) return c;
    return undefined;
  };
  const byExtId = (id: string) => findBy((c) => c.extId === id);
  const byEmail = (email: string) => findBy((c) => c.email === email.toLowerCase());
  const bySms = (sms: string) => findBy((c) => c.attributes["SMS"] === sms);

  const duplicate = (field: string): never => {
    throw new HttpError(
      400,
      "duplicate_parameter",
      `Unable to update contact, ${field} is already associated with another Contact`,
      {
        duplicate_identifiers: [field],
      },
    );
  };

  /** Writes attributes the way Brevo does: unknown names and wrong types are dropped without an error. */
  const writeAttributes = (c: FakeContact, values: Record<string, unknown>, eraseEmpty: boolean) => {
    for (const [rawName, value] of Object.entries(values)) {
      const name = rawName.toUpperCase();
      if (name === "EMAIL" || name === "EXT_ID") continue;
      const type = attributes.get(name);
      if (type === undefined) {
        ignoredValues.push({ attribute: name, value, why: "attribute does not exist" });
        continue;
      }
      // ASSUMPTION: an empty string (or null) clears an attribute of any type.
      if (value === "" || value === null) {
        if (options.assumptions?.emptyClears === false) {
          ignoredValues.push({ attribute: name, value, why: "empty value ignored (assumption switched off)" });
          continue;
        }
        if (eraseEmpty) delete c.attributes[name];
        continue;
      }
      if (!typeMatches(type, value)) {
        ignoredValues.push({ attribute: name, value, why: `not a ${type}` });
        continue;
      }
      if (name === "SMS") {
        const owner = bySms(String(value));
        if (owner !== undefined && owner.id !== c.id) duplicate("SMS");
      }
      c.attributes[name] = value as Scalar;
    }
  };

  const setEmail = (c: FakeContact, email: unknown) => {
    if (typeof email !== "string" || email === "") return;
    if (!EMAIL.test(email)) throw new HttpError(400, "invalid_parameter", "Invalid email address");
    const owner = byEmail(email);
    if (owner !== undefined && owner.id !== c.id) duplicate("email");
    c.email = email.toLowerCase();
  };
  const setExtId = (c: FakeContact, extId: unknown) => {
    if (typeof extId !== "string" || extId === "") return;
    const owner = byExtId(extId);
    if (owner !== undefined && owner.id !== c.id) duplicate("ext_id");
    c.extId = extId;
  };

  /** Applies to a copy and commits only when every check passed, as one Brevo call does. */
  const mutate = (existing: FakeContact | undefined, change: (draft: FakeContact) => void): FakeContact => {
    const stamp = new Date(now()).toISOString();
    const draft: FakeContact = existing
      ? { ...existing, attributes: { ...existing.attributes }, listIds: new Set(existing.listIds), modifiedAt: stamp }
      : {
          id: nextContactId,
          email: null,
          extId: null,
          attributes: {},
          listIds: new Set(),
          createdAt: stamp,
          modifiedAt: stamp,
        };
    change(draft);
    if (draft.email === null && draft.extId === null && draft.attributes["SMS"] === undefined) {
      throw new HttpError(400, "missing_parameter", "email, ext_id or SMS is required");
    }
    if (!existing) nextContactId++;
    contacts.set(draft.id, draft);
    return draft;
  };

  /**
   * ASSUMPTION: an upsert or import row finds its contact by ext_id first, then by email, then
   * by SMS; a contact found by email or SMS that already has another ext_id is a collision
   * (400 duplicate_parameter), never silently re-keyed.
   */
  const matchContact = (extId: string | undefined, email: string | undefined, sms: string | undefined) => {
    if (extId) {
      const c = byExtId(extId);
      if (c) return c;
    }
    const other = (email && byEmail(email)) || (sms ? bySms(sms) : undefined) || undefined;
    if (other && extId && other.extId !== null && other.extId !== extId)
      duplicate(email && other.email === email.toLowerCase() ? "email" : "SMS");
    return other;
  };

  const lookup = (identifier: string, type: string | undefined): FakeContact | undefined => {
    switch (type ?? (identifier.includes("@") ? "email_id" : /^\d+$/.test(identifier) ? "contact_id" : "phone_id")) {
      case "ext_id":
        return byExtId(identifier);
      case "email_id":
        return byEmail(identifier);
      case "contact_id":
        return contacts.get(Number(identifier));
      case "phone_id":
        return bySms(identifier);
      default:
        throw new HttpError(400, "invalid_parameter", "identifierType is invalid");
    }
  };

  const listIdsOf = (v: unknown): number[] =>
    Array.isArray(v) ? v.filter((x): x is number => Number.isInteger(x)) : [];

  // --- operations
  type Handler = (req: {
    params: string[];
    query: Record<string, string>;
    body: Record<string, unknown>;
  }) => [number, unknown];
  const routes: { method: string; pattern: RegExp; operation: string; group: keyof typeof limits; handler: Handler }[] =
    [
      {
        method: "GET",
        pattern: /^\/contacts\/attributes$/,
        operation: "getAttributes",
        group: "contacts",
        handler: () => [
          200,
          { attributes: [...attributes].map(([name, type]) => ({ name, category: "normal", type })) },
        ],
      },
      {
        method: "POST",
        pattern: /^\/contacts\/attributes\/([a-z]+)\/([^/]+)$/,
        operation: "createAttribute",
        group: "contacts",
        handler: ({ params, body }) => {
          const [category, name = ""] = params;
          if (category !== "normal")
            throw new HttpError(400, "invalid_parameter", "only normal attributes are supported here");
          if (!/^[A-Z][A-Z0-9_]*$/.test(name))
            throw new HttpError(400, "invalid_parameter", "attribute name must be UPPER_CASE");
          if (attributes.has(name)) throw new HttpError(400, "invalid_parameter", "Attribute name must be unique");
          const type = body["type"];
          if (!["text", "float", "date", "boolean", "multiple-choice"].includes(String(type))) {
            throw new HttpError(400, "invalid_parameter", "type is invalid");
          }
          attributes.set(name, type as AttributeType);
          return [201, undefined];
        },
      },
      {
        method: "DELETE",
        pattern: /^\/contacts\/attributes\/([a-z]+)\/([^/]+)$/,
        operation: "deleteAttribute",
        group: "contacts",
        handler: ({ params }) => {
          const name = params[1] ?? "";
          if (!attributes.has(name)) throw new HttpError(404, "document_not_found", "Attribute does not exist");
          attributes.delete(name);
          for (const c of contacts.values()) delete c.attributes[name];
          return [204, undefined];
        },
      },
      {
        method: "POST",
        pattern: /^\/contacts\/lists$/,
        operation: "createList",
        group: "contacts",
        handler: ({ body }) => {
          if (typeof body["name"] !== "string" || body["name"] === "")
            throw new HttpError(400, "missing_parameter", "name is required");
          if (!Number.isInteger(body["folderId"]))
            throw new HttpError(400, "missing_parameter", "folderId is required");
          const id = nextListId++;
          lists.add(id);
          return [201, { id }];
        },
      },
      {
        method: "DELETE",
        pattern: /^\/contacts\/lists\/(\d+)$/,
        operation: "deleteList",
        group: "contacts",
        handler: ({ params }) => {
          const id = Number(params[0]);
          if (!lists.delete(id)) throw new HttpError(404, "document_not_found", "List ID does not exist");
          for (const c of contacts.values()) c.listIds.delete(id);
          return [204, undefined];
        },
      },
      {
        method: "POST",
        pattern: /^\/contacts$/,
        operation: "createContact",
        group: "contacts",
        handler: ({ body }) => {
          const extId = typeof body["ext_id"] === "string" ? body["ext_id"] : undefined;
          const email = typeof body["email"] === "string" ? body["email"] : undefined;
          const attrs = (body["attributes"] ?? {}) as Record<string, unknown>;
          const existing = matchContact(extId, email, typeof attrs["SMS"] === "string" ? attrs["SMS"] : undefined);
          if (existing && body["updateEnabled"] !== true)
            duplicate(email && existing.email === email ? "email" : "ext_id");
          const c = mutate(existing, (d) => {
            setEmail(d, email);
            setExtId(d, extId);
            writeAttributes(d, attrs, true);
            for (const id of listIdsOf(body["listIds"])) d.listIds.add(id);
          });
          return existing ? [204, undefined] : [201, { id: c.id }];
        },
      },
      {
        method: "GET",
        pattern: /^\/contacts\/([^/]+)$/,
        operation: "getContactInfo",
        group: "contacts",
        handler: ({ params, query }) => {
          const c = lookup(decodeURIComponent(params[0] ?? ""), query["identifierType"]);
          if (!c) throw new HttpError(404, "document_not_found", "Contact does not exist");
          return [200, render(c)];
        },
      },
      {
        method: "PUT",
        pattern: /^\/contacts\/([^/]+)$/,
        operation: "updateContact",
        group: "contacts",
        handler: ({ params, query, body }) => {
          const existing = lookup(decodeURIComponent(params[0] ?? ""), query["identifierType"]);
          if (!existing) throw new HttpError(404, "document_not_found", "Contact does not exist");
          mutate(existing, (d) => {
            const attrs = (body["attributes"] ?? {}) as Record<string, unknown>;
            setEmail(d, attrs["EMAIL"]);
            setExtId(d, body["ext_id"] ?? attrs["EXT_ID"]);
            writeAttributes(d, attrs, true);
            for (const id of listIdsOf(body["listIds"])) d.listIds.add(id);
            for (const id of listIdsOf(body["unlinkListIds"])) d.listIds.delete(id);
          });
          return [204, undefined];
        },
      },
      {
        method: "DELETE",
        pattern: /^\/contacts\/([^/]+)$/,
        operation: "deleteContact",
        group: "contacts",
        handler: ({ params, query }) => {
          const c = lookup(decodeURIComponent(params[0] ?? ""), query["identifierType"]);
          if (!c) throw new HttpError(404, "document_not_found", "Contact does not exist");
          contacts.delete(c.id);
          return [204, undefined];
        },
      },
      ...(["add", "remove"] as const).map((action) => ({
        method: "POST",
        pattern: new RegExp(`^/contacts/lists/(\\d+)/contacts/${action}$`),
        operation: action === "add" ? "addContactToList" : "removeContactFromList",
        group: "contacts" as const,
        handler: (({ params, body }) => {
          const listId = Number(params[0]);
          const [key, find] = Array.isArray(body["extIds"])
            ? (["extIds", (v: unknown) => byExtId(String(v))] as const)
            : Array.isArray(body["emails"])
              ? (["emails", (v: unknown) => byEmail(String(v))] as const)
              : Array.isArray(body["ids"])
                ? (["ids", (v: unknown) => contacts.get(Number(v))] as const)
                : (["", () => undefined] as const);
          if (key === "") throw new HttpError(400, "missing_parameter", "emails, ids or extIds is required");
          const ids = body[key] as unknown[];
          if (ids.length === 0 || ids.length > MAX_LIST_IDENTIFIERS) {
            throw new HttpError(400, "out_of_range", `between 1 and ${MAX_LIST_IDENTIFIERS} identifiers per request`);
          }
          const success: unknown[] = [];
          const failure: unknown[] = [];
          for (const id of ids) {
            const c = find(id);
            // Per the OpenAPI document, a failure "could be already in/out list and/or doesn't exist".
            const changed = c !== undefined && (action === "add" ? !c.listIds.has(listId) : c.listIds.has(listId));
            if (!c || !changed) {
              failure.push(id);
              continue;
            }
            if (action === "add") c.listIds.add(listId);
            else c.listIds.delete(listId);
            c.modifiedAt = new Date(now()).toISOString();
            success.push(id);
          }
          return [201, { contacts: { success, failure } }];
        }) as Handler,
      })),
      {
        method: "POST",
        pattern: /^\/contacts\/import$/,
        operation: "importContacts",
        group: "contacts",
        handler: ({ body }) => {
          // The document's requestContactImport has no way to leave a list (`unlinkListIds` exists on
          // PUT /contacts/{id} and the deprecated /contacts/batch only). ASSUMPTION: Brevo refuses
          // properties it does not know; the fake does, so the sink cannot come to rely on one.
          const unknown = Object.keys(body).filter((k) => !IMPORT_PROPERTIES.has(k));
          if (unknown.length > 0) {
            throw new HttpError(400, "invalid_parameter", `unknown parameter(s): ${unknown.join(", ")}`);
          }
          const listIds = listIdsOf(body["listIds"]);
          if (listIds.length === 0 && body["newList"] === undefined) {
            throw new HttpError(400, "missing_parameter", "listIds or newList is required");
          }
          const rows = body["jsonBody"];
          if (!Array.isArray(rows) || rows.length === 0)
            throw new HttpError(400, "missing_parameter", "jsonBody is required");
          if (JSON.stringify(rows).length > 10 * 1024 * 1024)
            throw new HttpError(400, "out_of_range", "jsonBody exceeds 10MB");
          const process: Process = { id: nextProcessId++, status: "queued", info: undefined };
          processes.set(process.id, process);
          const update = body["updateExistingContacts"] !== false;
          const erase = body["emptyContactsAttributes"] === true;
          const timer = setTimeout(() => {
            pending.delete(timer);
            process.info = {
              import: applyImport(process.id, rows as Record<string, unknown>[], listIds, update, erase),
            };
            process.status = "completed";
          }, options.importDelayMs ?? 10);
          pending.add(timer);
          process.status = "in_process";
          return [202, { processId: process.id }];
        },
      },
      {
        method: "GET",
        pattern: /^\/processes$/,
        operation: "getProcesses",
        group: "other",
        handler: ({ query }) => {
          const limit = Math.min(50, Number(query["limit"] ?? 10));
          const offset = Number(query["offset"] ?? 0);
          const all = [...processes.values()].sort((a, b) => (query["sort"] === "asc" ? a.id - b.id : b.id - a.id));
          const page = all
            .slice(offset, offset + limit)
            .map((p) => ({ id: p.id, status: p.status, name: "IMPORTUSER" }));
          return [200, { processes: page, count: all.length }];
        },
      },
      {
        method: "GET",
        pattern: /^\/processes\/(\d+)$/,
        operation: "getProcess",
        group: "other",
        handler: ({ params }) => {
          const p = processes.get(Number(params[0]));
          if (!p) throw new HttpError(404, "invalid_parameter", "processId is invalid");
          return [200, { id: p.id, status: p.status, name: "IMPORTUSER", ...(p.info ? { info: p.info } : {}) }];
        },
      },
      {
        method: "POST",
        pattern: /^\/events$/,
        operation: "createEvent",
        group: "events",
        handler: ({ body }) => {
          const name = body["event_name"];
          const identifiers = body["identifiers"];
          if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
            throw new HttpError(400, "invalid_parameter", "event_name is invalid");
          }
          if (typeof identifiers !== "object" || identifiers === null || Object.keys(identifiers).length === 0) {
            throw new HttpError(400, "missing_parameter", "identifiers is required");
          }
          if (JSON.stringify(body["event_properties"] ?? {}).length > 50 * 1024) {
            throw new HttpError(400, "out_of_range", "event_properties exceeds 50KB");
          }
          events.push({
            eventName: name,
            identifiers: identifiers as Record<string, unknown>,
            eventDate: typeof body["event_date"] === "string" ? body["event_date"] : undefined,
            properties: body["event_properties"],
          });
          return [204, undefined];
        },
      },
    ];

  /**
   * ASSUMPTION: an import row is matched by attributes.EXT_ID first, then by email. Failures are
   * reported in the process's info.import as URLs of CSV files (Brevo's SDK documents "URL to CSV
   * file containing …"); the file layout is not documented: here a header `EMAIL,EXT_ID,REASON`
   * and one line per refused row.
   */
  function applyImport(
    processId: number,
    rows: Record<string, unknown>[],
    listIds: number[],
    update: boolean,
    erase: boolean,
  ) {
    const report: Record<string, { email: string; extId: string }[]> = {
      invalid_emails: [],
      duplicate_email_id: [],
      duplicate_ext_id: [],
    };
    for (const row of rows) {
      const attrs = { ...((row["attributes"] ?? {}) as Record<string, unknown>) };
      const extId =
        typeof attrs["EXT_ID"] === "string" && options.assumptions?.importExtId !== false ? attrs["EXT_ID"] : undefined;
      const email = typeof row["email"] === "string" ? row["email"] : undefined;
      const who = { email: email ?? "", extId: extId ?? "" };
      let existing: FakeContact | undefined;
      try {
        existing = matchContact(extId, email, undefined);
      } catch {
        report["duplicate_email_id"]?.push(who);
        continue;
      }
      if (existing && !update) continue;
      try {
        mutate(existing, (d) => {
          setEmail(d, email);
          setExtId(d, extId);
          writeAttributes(d, attrs, erase);
          for (const id of listIds) d.listIds.add(id);
        });
      } catch (error) {
        if (error instanceof HttpError && error.code === "invalid_parameter") report["invalid_emails"]?.push(who);
        else if (error instanceof HttpError && error.metadata?.["duplicate_identifiers"]?.toString() === "ext_id") {
          report["duplicate_ext_id"]?.push(who);
        } else report["duplicate_email_id"]?.push(who);
      }
    }
    const info: Record<string, string> = {};
    for (const [kind, refused] of Object.entries(report)) {
      if (refused.length === 0) continue;
      if (options.importReports === "identifiers") {
        info[kind] = refused.map((r) => r.extId || r.email).join(",");
        continue;
      }
      const path = `/files/import-${processId}-${kind}.csv`;
      const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
      files.set(
        path,
        ["EMAIL,EXT_ID,REASON", ...refused.map((r) => [r.email, r.extId, kind].map(quote).join(","))].join("\n"),
      );
      info[kind] = `${baseUrl}${path}`;
    }
    return info;
  }

  // --- rate limits: sliding windows per group, reported on every response
  const rateCheck = (group: keyof typeof limits, res: ServerResponse): boolean => {
    const t = now();
    const window = hits[group] ?? [];
    while (window.length > 0 && (window[0] ?? 0) <= t - 3_600_000) window.shift();
    const lastSecond = window.filter((x) => x > t - 1000);
    const limit = limits[group];
    const perSecondLeft = limit.perSecond - lastSecond.length;
    const perHourLeft = limit.perHour - window.length;
    // Headers describe the window closest to running out (ASSUMPTION: Brevo does not document which).
    const hourBound = perHourLeft < perSecondLeft;
    const oldest = hourBound ? (window[0] ?? t) : (lastSecond[0] ?? t);
    const resetS = Math.max(0, Math.ceil((oldest + (hourBound ? 3_600_000 : 1000) - t) / 1000));
    const allowed = perSecondLeft > 0 && perHourLeft > 0;
    if (allowed) window.push(t);
    res.setHeader("x-sib-ratelimit-limit", String(hourBound ? limit.perHour : limit.perSecond));
    res.setHeader(
      "x-sib-ratelimit-remaining",
      String(Math.max(0, Math.min(perSecondLeft, perHourLeft) - (allowed ? 1 : 0))),
    );
    res.setHeader("x-sib-ratelimit-reset", String(resetS));
    return allowed;
  };

  const takeFault = (operation: string): FaultKind | undefined => {
    const i = faults.findIndex((f) => f.operations === undefined || f.operations.includes(operation));
    const fault = faults[i];
    if (fault !== undefined) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults.splice(i, 1);
      return fault.kind;
    }
    if (random !== undefined && rng() < random.rate) return random.kinds[Math.floor(rng() * random.kinds.length)];
    return undefined;
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://fake");
    if (options.latency !== undefined) {
      const ms = latencyRng() * options.latency.maxMs;
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    // Report files: plain downloads outside the API (no api-key, no rate limit), like a file store link.
    if (req.method === "GET" && url.pathname.startsWith("/files/")) {
      const file = files.get(url.pathname);
      if (file === undefined) return void res.writeHead(404).end();
      return void res.writeHead(200, { "content-type": "text/csv" }).end(file);
    }
    const path = url.pathname.replace(/^\/v3/, "");
    const query = Object.fromEntries(url.searchParams);
    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    const route = routes.find((r) => r.method === req.method && r.pattern.test(path));
    const operation = route?.operation ?? "unknown";
    const send = (status: number, payload: unknown, fault?: FaultKind) => {
      log.push({
        operation,
        method: req.method ?? "",
        path,
        query,
        requestBody: body,
        status,
        responseBody: payload,
        fault,
      });
      if (payload === undefined) res.writeHead(status).end();
      else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(payload));
    };
    try {
      body = raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      return send(400, { code: "bad_request", message: "body is not valid JSON" });
    }
    if (req.headers["api-key"] !== apiKey) return send(401, { code: "unauthorized", message: "Key not found" });
    if (!route) return send(404, { code: "document_not_found", message: `no route ${req.method} ${path}` });
    if (!rateCheck(route.group, res)) {
      // ASSUMPTION: the 429 body uses code too_many_requests (not in the document's enum) and no Retry-After.
      return send(429, { code: "too_many_requests", message: "The expected rate limit is exceeded." }, "429");
    }
    const fault = takeFault(operation);
    if (fault === "429") return send(429, { code: "too_many_requests", message: "injected 429" }, fault);
    // As after an egress-IP change under Brevo's IP allow-list, or a revoked permission.
    if (fault === "403")
      return send(403, { code: "permission_denied", message: "injected: unrecognised IP address" }, fault);
    if (fault === "5xx") return send(503, { code: "internal_error", message: "injected failure" }, fault);
    if (fault === "timeout") {
      // The request is never applied; the connection is dropped after the client gave up.
      setTimeout(() => {
        log.push({
          operation,
          method: req.method ?? "",
          path,
          query,
          requestBody: body,
          status: 0,
          responseBody: undefined,
          fault,
        });
        res.destroy();
      }, options.timeoutFaultMs ?? 2000);
      return;
    }
    try {
      const match = route.pattern.exec(path);
      const [status, payload] = route.handler({ params: match?.slice(1) ?? [], query, body });
      // apply-then-fail: the change is committed, the client hears 500 and cannot tell.
      if (fault === "apply-then-fail")
        return send(500, { code: "internal_error", message: "injected after apply" }, fault);
      send(status, payload);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      send(error.status, {
        code: error.code,
        message: error.message,
        ...(error.metadata ? { metadata: error.metadata } : {}),
      });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;

  return {
    url: `http://127.0.0.1:${port}/v3`,
    apiKey,
    contacts,
    events,
    attributes,
    log,
    files,
    ignoredValues,
    counts: () => {
      const out: Record<string, number> = {};
      for (const e of log) out[e.operation] = (out[e.operation] ?? 0) + 1;
      return out;
    },
    contactByExtId: byExtId,
    inject: (fault) => faults.push({ ...fault }),
    clearFaults: () => faults.splice(0),
    setRandomFaults: (r) => {
      random = r;
      rng = mulberry32(r?.seed ?? 1);
    },
    resetLog: () => log.splice(0),
    close: async () => {
      for (const t of pending) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function typeMatches(type: AttributeType, value: unknown): boolean {
  switch (type) {
    case "float":
      return typeof value === "number" && Number.isFinite(value);
    case "date":
      return typeof value === "string" && DATE.test(value);
    case "boolean":
      return typeof value === "boolean";
    case "multiple-choice":
      return Array.isArray(value);
    default:
      return typeof value === "string" || typeof value === "number";
  }
}

const render = (c: FakeContact) => ({
  id: c.id,
  email: c.email ?? undefined,
  emailBlacklisted: false,
  smsBlacklisted: false,
  createdAt: c.createdAt,
  modifiedAt: c.modifiedAt,
  attributes: { ...c.attributes, ...(c.extId ? { EXT_ID: c.extId } : {}) },
  listIds: [...c.listIds].sort((a, b) => a - b),
  statistics: {},
});

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Small seeded PRNG so random faults replay the same way. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
