import { type Brevo, BrevoClient, BrevoError, BrevoTimeoutError } from "@getbrevo/brevo";
import { AppError, backoffDelay, type Logger } from "@sbs/shared";
import type { ExistingAttribute } from "../domain/attributes.ts";
import type { BrevoEventRequest } from "../domain/events.ts";
import type { AttributeValue, BrevoAttributeType } from "../domain/fields.ts";
import { endpointOf } from "./brevo-endpoint.ts";
import type { Clock } from "./clock.ts";
import { type ImportReport, readImportReport } from "./import-report.ts";
import { createRateLimiter, type RateLimiter } from "./rate-limiter.ts";

/**
 * Every Brevo call of the sink, through @getbrevo/brevo with the SDK's own retries off
 * (maxRetries 0): retries live here, once, so a 429 is never retried blindly by two layers.
 * Each call waits for the limiter; every response's x-sib-ratelimit-* headers feed it back.
 */

export interface TransportOptions {
  readonly apiKey: string;
  readonly baseUrl?: string;
  /** Client-side budget, below the plan's limits (10/s and 36,000/h on general plans). */
  readonly perSecond: number;
  readonly perHour: number;
  /** Attempts for transient failures (5xx, 408, 425, network, timeout) before the run gives up. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** 429s tolerated for one call: each waits for the reset, so this bounds time, not load. */
  readonly max429: number;
  readonly timeoutSeconds: number;
  /** First wait before polling an import process; doubles up to maxDelayMs. */
  readonly processPollMs: number;
  readonly processTimeoutMs: number;
  readonly clock: Clock;
  readonly random?: () => number;
  /** Upper bound of the jitter added to a 429's reset wait. */
  readonly maxJitterMs?: number;
  readonly logger: Logger;
  readonly fetch?: typeof fetch;
}

/** The outcome of one per-record call: done, or a permanent refusal to record with its reason. */
export type RecordOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

/** Events have no idempotency key: after an ambiguous failure the event may or may not exist. */
export type EventOutcome = RecordOutcome | { readonly ok: false; readonly uncertain: true; readonly message: string };

export interface ContactBody {
  readonly email?: string;
  readonly attributes: Readonly<Record<string, AttributeValue | "">>;
  readonly listIds?: readonly number[];
  readonly unlinkListIds?: readonly number[];
}

export interface ImportRow {
  readonly email: string;
  readonly attributes: Readonly<Record<string, AttributeValue | "">>;
}

export interface ProcessResult {
  readonly status: string;
  /** info.import as Brevo reports it (failure lists), when present. */
  readonly importInfo: Readonly<Record<string, string | null | undefined>>;
}

export interface BrevoTransport {
  getAttributes(): Promise<ExistingAttribute[]>;
  createAttribute(name: string, type: BrevoAttributeType): Promise<void>;
  /** POST /contacts with updateEnabled: creates, or updates the contact with that ext_id/email. */
  upsertContact(extId: string, body: ContactBody): Promise<RecordOutcome>;
  /**
   * A guest's contact, by email only (issue #20): POST /contacts with updateEnabled (creates it,
   * or leaves an existing contact with that email, a customer's included, as it is) and the
   * marketing lists it joins; then, for lists it must leave, PUT by email_id with unlinkListIds.
   */
  upsertGuest(
    email: string,
    lists: { readonly add: readonly number[]; readonly remove: readonly number[] },
  ): Promise<RecordOutcome>;
  /** PUT /contacts/{extId}?identifierType=ext_id; 404 document_not_found is a RecordOutcome. */
  updateContact(extId: string, body: ContactBody): Promise<RecordOutcome>;
  /** DELETE by ext_id (by email for a guest's contact, issue #20); 404 counts as done (the goal state). */
  deleteContact(identifier: string, identifierType?: "ext_id" | "email_id"): Promise<RecordOutcome>;
  /** At most 150 ext_ids (Brevo's cap); returns the ext_ids Brevo reported as failed. */
  changeList(listId: number, action: "add" | "remove", extIds: readonly string[]): Promise<{ failure: string[] }>;
  /** POST /contacts/import: returns the process id; the import runs asynchronously. */
  startImport(rows: readonly ImportRow[], listIds: readonly number[]): Promise<number>;
  /**
   * Polls until every process completed: one GET /processes per round for several (those
   * endpoints allow ~100 requests/h), GET /processes/{id} for one, or for a completed one (the
   * list carries no import report), or for one not in the newest 50.
   */
  awaitProcesses(ids: readonly number[]): Promise<Map<number, ProcessResult>>;
  /** Downloads and reads the CSV failure reports a completed import names (fail closed, import-report.ts). */
  readImportReport(info: ProcessResult["importInfo"]): Promise<ImportReport>;
  /** startImport + awaitProcesses for one import. */
  importContacts(rows: readonly ImportRow[], listIds: readonly number[]): Promise<ProcessResult>;
  createEvent(event: BrevoEventRequest): Promise<EventOutcome>;
  readonly stats: TransportStats;
  readonly limiter: RateLimiter;
}

export interface TransportStats {
  requests: number;
  retries: number;
  throttled: number;
  /** Responses by `endpointOf` and HTTP status (`"POST /events 201"`); "error" when none came. */
  readonly responses: Map<string, number>;
}

export const MAX_LIST_IDENTIFIERS = 150;

type Classified =
  | { kind: "throttled"; reset: number | undefined }
  | { kind: "transient"; ambiguous: boolean; message: string }
  | { kind: "fatal"; message: string }
  | { kind: "record"; status: number; code: string; message: string };

export function createBrevoTransport(options: TransportOptions): BrevoTransport {
  const { clock, logger } = options;
  const random = options.random ?? Math.random;
  const limiter = createRateLimiter({
    perSecond: options.perSecond,
    perHour: options.perHour,
    clock,
    random,
    ...(options.maxJitterMs === undefined ? {} : { maxJitterMs: options.maxJitterMs }),
  });
  const stats: TransportStats = { requests: 0, retries: 0, throttled: 0, responses: new Map() };
  const baseFetch = options.fetch ?? fetch;
  const count = (key: string) => stats.responses.set(key, (stats.responses.get(key) ?? 0) + 1);
  const observingFetch: typeof fetch = async (input, init) => {
    stats.requests++;
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const endpoint = endpointOf(init?.method ?? (input instanceof Request ? input.method : "GET"), url);
    try {
      const response = await baseFetch(input, init);
      count(`${endpoint} ${response.status}`);
      limiter.observe(response.headers);
      return response;
    } catch (error) {
      count(`${endpoint} error`);
      throw error;
    }
  };
  const client = new BrevoClient({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
    maxRetries: 0,
    timeoutInSeconds: options.timeoutSeconds,
    fetch: observingFetch,
  });

  /**
   * Runs one request with the limiter and the sink's retry policy. `ambiguousRetry: false` is for
   * non-idempotent calls (events): a 5xx or timeout may have been applied, so it is reported,
   * not retried. Per-record 4xx come back as a RecordOutcome, never thrown.
   */
  async function call<T>(
    what: string,
    fn: () => Promise<T>,
    ambiguousRetry = true,
  ): Promise<{ ok: true; value: T } | { ok: false; failure: Classified }> {
    let attempt = 0;
    let throttles = 0;
    for (;;) {
      await limiter.acquire();
      try {
        return { ok: true, value: await fn() };
      } catch (error) {
        const c = classify(error);
        if (c.kind === "throttled") {
          stats.throttled++;
          if (++throttles > options.max429) {
            throw new AppError("brevo_throttled", `${what}: still rate limited after ${options.max429} waits`, {
              retriable: true,
              cause: error,
            });
          }
          limiter.throttled(c.reset);
          continue;
        }
        if (c.kind === "transient") {
          if (c.ambiguous && !ambiguousRetry) return { ok: false, failure: c };
          if (++attempt >= options.maxAttempts) {
            throw new AppError("brevo_unavailable", `${what}: ${c.message} (after ${attempt} attempts)`, {
              retriable: true,
              cause: error,
            });
          }
          stats.retries++;
          const delay = backoffDelay(attempt - 1, {
            baseDelayMs: options.baseDelayMs,
            maxDelayMs: options.maxDelayMs,
            random,
          });
          logger.debug({ what, attempt, delay, reason: c.message }, "brevo call failed; retrying");
          await clock.sleep(delay);
          continue;
        }
        if (c.kind === "fatal") throw new AppError("brevo_refused", `${what}: ${c.message}`, { cause: error });
        return { ok: false, failure: c };
      }
    }
  }

  const recordOutcome = (r: { ok: true } | { ok: false; failure: Classified }): RecordOutcome => {
    if (r.ok) return { ok: true };
    const f = r.failure;
    if (f.kind === "record") return { ok: false, status: f.status, code: f.code, message: f.message };
    // Unreachable for retried calls: transient/fatal/throttled either retry or throw.
    return { ok: false, status: 0, code: f.kind, message: "message" in f ? f.message : f.kind };
  };

  async function startImport(rows: readonly ImportRow[], listIds: readonly number[]): Promise<number> {
    const r = await call("POST /contacts/import", () =>
      client.contacts.importContacts({
        jsonBody: rows.map((row) => ({ email: row.email, attributes: { ...row.attributes } })),
        listIds: [...listIds],
        updateExistingContacts: true,
        // Empty values in the rows are explicit clears.
        emptyContactsAttributes: true,
        disableNotification: true,
      }),
    );
    if (!r.ok) throw new AppError("brevo_refused", `POST /contacts/import: ${describe(r.failure)}`);
    return r.value.processId;
  }

  async function processReport(processId: number): Promise<{ status: string; info: ProcessResult["importInfo"] }> {
    const p = await call(`GET /processes/${processId}`, () => client.process.getProcess({ processId }));
    if (!p.ok) throw new AppError("brevo_refused", `GET /processes/${processId}: ${describe(p.failure)}`);
    return { status: p.value.status, info: { ...(p.value.info?.import ?? {}) } };
  }

  async function awaitProcesses(ids: readonly number[]): Promise<Map<number, ProcessResult>> {
    const done = new Map<number, ProcessResult>();
    const pending = new Set(ids);
    const deadline = clock.now() + options.processTimeoutMs;
    const settle = (id: number, status: string, info: ProcessResult["importInfo"]) => {
      if (status === "completed") {
        done.set(id, { status, importInfo: info });
        pending.delete(id);
      } else if (status === "failed" || status === "cancelled") {
        throw new AppError("brevo_import_failed", `import process ${id} ended ${status}`, { retriable: true });
      }
    };
    for (let delay = options.processPollMs; pending.size > 0; delay = Math.min(delay * 2, options.maxDelayMs)) {
      await clock.sleep(delay);
      let listed = new Map<number, string>();
      if (pending.size > 1) {
        const r = await call("GET /processes", () => client.process.getProcesses({ limit: 50, sort: "desc" }));
        if (!r.ok) throw new AppError("brevo_refused", `GET /processes: ${describe(r.failure)}`);
        listed = new Map((r.value.processes ?? []).map((p) => [p.id, p.status as string]));
      }
      for (const id of [...pending]) {
        const status = listed.get(id);
        if (status !== undefined && status !== "completed") settle(id, status, {});
        else {
          const p = await processReport(id);
          settle(id, p.status, p.info);
        }
      }
      if (pending.size > 0 && clock.now() > deadline) {
        throw new AppError("brevo_import_timeout", `import processes ${[...pending].join(",")} still running`, {
          retriable: true,
        });
      }
    }
    return done;
  }

  const attrs = (a: ContactBody["attributes"]) => a as Record<string, Brevo.UpdateContactRequest.Attributes.Value>;

  return {
    stats,
    limiter,
    async getAttributes() {
      const r = await call("GET /contacts/attributes", () => client.contacts.getAttributes());
      if (!r.ok) throw new AppError("brevo_refused", `GET /contacts/attributes: ${describe(r.failure)}`);
      return r.value.attributes.map((a) => ({ name: a.name, category: a.category, type: a.type }));
    },
    async createAttribute(name, type) {
      const r = await call(`POST /contacts/attributes/normal/${name}`, () =>
        client.contacts.createAttribute({ attributeCategory: "normal", attributeName: name, type }),
      );
      if (!r.ok) throw new AppError("brevo_refused", `creating attribute ${name} (${type}): ${describe(r.failure)}`);
    },
    async upsertContact(extId, body) {
      const r = await call("POST /contacts", () =>
        client.contacts.createContact({
          ext_id: extId,
          ...(body.email === undefined ? {} : { email: body.email }),
          attributes: attrs(body.attributes),
          ...(body.listIds && body.listIds.length > 0 ? { listIds: [...body.listIds] } : {}),
          updateEnabled: true,
        }),
      );
      return recordOutcome(r);
    },
    async upsertGuest(email, lists) {
      const created = await call("POST /contacts", () =>
        client.contacts.createContact({
          email,
          ...(lists.add.length > 0 ? { listIds: [...lists.add] } : {}),
          updateEnabled: true,
        }),
      );
      if (!created.ok || lists.remove.length === 0) return recordOutcome(created);
      const r = await call("PUT /contacts/{email_id}", () =>
        client.contacts.updateContact({
          identifier: email,
          identifierType: "email_id",
          unlinkListIds: [...lists.remove],
        }),
      );
      return recordOutcome(r);
    },
    async updateContact(extId, body) {
      const r = await call("PUT /contacts/{ext_id}", () =>
        client.contacts.updateContact({
          identifier: extId,
          identifierType: "ext_id",
          attributes: { ...attrs(body.attributes), ...(body.email === undefined ? {} : { EMAIL: body.email }) },
          ...(body.listIds && body.listIds.length > 0 ? { listIds: [...body.listIds] } : {}),
          ...(body.unlinkListIds && body.unlinkListIds.length > 0 ? { unlinkListIds: [...body.unlinkListIds] } : {}),
        }),
      );
      return recordOutcome(r);
    },
    async deleteContact(identifier, identifierType = "ext_id") {
      const r = recordOutcome(
        await call(`DELETE /contacts/{${identifierType}}`, () =>
          client.contacts.deleteContact({ identifier, identifierType }),
        ),
      );
      // Deleting what is already gone reached the goal: idempotent by construction.
      return !r.ok && r.status === 404 ? { ok: true } : r;
    },
    async changeList(listId, action, extIds) {
      if (extIds.length === 0) return { failure: [] };
      if (extIds.length > MAX_LIST_IDENTIFIERS)
        throw new AppError("list_chunk_too_big", `at most ${MAX_LIST_IDENTIFIERS} per call`);
      const what = `POST /contacts/lists/${listId}/contacts/${action}`;
      const r = await call(what, () =>
        action === "add"
          ? client.contacts.addContactToList({ listId, body: { extIds: [...extIds] } })
          : client.contacts.removeContactFromList({ listId, body: { extIds: [...extIds] } }),
      );
      if (!r.ok) throw new AppError("brevo_refused", `${what}: ${describe(r.failure)}`);
      // The document's schema nests the arrays in `contacts`; its examples do not: accept both.
      const body = r.value as unknown as { contacts?: { failure?: unknown[] }; failure?: unknown[] };
      return { failure: (body.contacts?.failure ?? body.failure ?? []).map(String) };
    },
    startImport,
    awaitProcesses,
    readImportReport: (info) => readImportReport(info, baseFetch, options.timeoutSeconds * 1000),
    async importContacts(rows, listIds) {
      const id = await startImport(rows, listIds);
      const result = (await awaitProcesses([id])).get(id);
      if (result === undefined) throw new AppError("brevo_import_failed", `no result for import process ${id}`);
      return result;
    },
    async createEvent(event) {
      const r = await call(
        "POST /events",
        () =>
          client.event.createEvent({
            event_name: event.event_name,
            event_date: event.event_date,
            identifiers: { ...event.identifiers },
            event_properties: { ...event.event_properties },
          }),
        false,
      );
      if (!r.ok && r.failure.kind === "transient") return { ok: false, uncertain: true, message: r.failure.message };
      return recordOutcome(r);
    },
  };
}

const describe = (c: Classified): string =>
  c.kind === "record" ? `HTTP ${c.status} ${c.code}: ${c.message}` : "message" in c ? c.message : c.kind;

/** Decides per error: wait (429), back off (5xx/408/425/network), stop (auth), or record (4xx). */
export function classify(error: unknown): Classified {
  if (error instanceof BrevoTimeoutError) return { kind: "transient", ambiguous: true, message: "timeout" };
  if (!(error instanceof BrevoError)) {
    return { kind: "transient", ambiguous: true, message: error instanceof Error ? error.message : String(error) };
  }
  const status = error.statusCode;
  const body = (typeof error.body === "object" && error.body !== null ? error.body : {}) as Record<string, unknown>;
  const code = typeof body["code"] === "string" ? body["code"] : "";
  const message = typeof body["message"] === "string" ? body["message"] : error.message;
  if (status === 429) {
    const reset = Number(error.rawResponse?.headers.get("x-sib-ratelimit-reset") ?? Number.NaN);
    return { kind: "throttled", reset: Number.isFinite(reset) ? reset : undefined };
  }
  if (status === undefined) {
    // No response at all: refused connections were never applied; anything else may have been.
    const refused = /ECONNREFUSED/.test(
      String((error.cause as { cause?: { code?: string } })?.cause?.code ?? error.message),
    );
    return { kind: "transient", ambiguous: !refused, message: error.message };
  }
  if (status >= 500 || status === 408 || status === 425) {
    return { kind: "transient", ambiguous: status !== 425, message: `HTTP ${status} ${code}`.trim() };
  }
  if (status === 401 || status === 403 || status === 402) {
    return { kind: "fatal", message: `HTTP ${status} ${code}: ${message} (check the API key and its permissions)` };
  }
  return { kind: "record", status, code, message };
}
