import type { SinkForgetCount } from "@sbs/brevo-sink/erasure";
import { forgetContacts, guestIdOf, customersWithEmail as sinkCustomersWithEmail } from "@sbs/brevo-sink/erasure";
import {
  customersWithEmail,
  isErased,
  lockAllGenerations,
  markErasure,
  objectIdsOf,
  type PurgeCount,
  purgedRows,
  purgeIds,
  recordErasure,
} from "@sbs/projector/erasure";
import { AppError, inTransaction, type Pool } from "@sbs/shared";

/**
 * Deletes one Brevo contact by ext_id, or by email for a guest's contact (the sink's transport:
 * rate limits, retries, 404 = done).
 */
export type DeleteContact = (
  identifier: string,
  identifierType?: "ext_id" | "email_id",
) => Promise<{ ok: boolean; code?: string; message?: string }>;

export interface EraseDeps {
  /** search_path at the projector's tables. */
  readonly projector: Pool;
  /** search_path at the sink's tables (may be the same pool). */
  readonly sink: Pool;
  /** Undefined: the Brevo contact is not deleted (--skip-brevo); said in the report. */
  readonly deleteContact: DeleteContact | undefined;
  /**
   * How long to wait before the second pass: a projector batch decoded before the projector
   * reloaded the erasure list (every SUPERVISE_INTERVAL_MS) may still commit the person's rows,
   * and a sink pass that read them may push the contact again. The second pass removes both.
   */
  readonly settleMs: number;
  readonly say: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface EraseReport {
  readonly customers: readonly string[];
  readonly objects: number;
  /** Customers whose erasure had been recorded by an earlier run. */
  readonly earlier: readonly string[];
  readonly projectorRows: readonly PurgeCount[];
  readonly sinkRows: readonly SinkForgetCount[];
  readonly brevo: "deleted" | "skipped" | "failed";
  /** Rows (projector and sink) the second pass still found: late writes it removed. */
  readonly secondPass: number;
}

const isEmail = (subject: string) => subject.includes("@");

async function emailsOf(deps: EraseDeps, ids: readonly string[]): Promise<string[]> {
  const projector = await deps.projector.query<{ e: string | null }>(
    `SELECT fact #>> '{winner,data,email}' AS e FROM fact_customer WHERE id = ANY($1::text[])
     UNION SELECT email FROM customer_projection WHERE customer_id = ANY($1::text[])`,
    [ids],
  );
  const sink = await deps.sink.query<{ e: string | null }>(
    "SELECT email AS e FROM brevo_contact_state WHERE ext_id = ANY($1::text[])",
    [ids],
  );
  return [...new Set([...projector.rows, ...sink.rows].flatMap((r) => (r.e ? [r.e.toLowerCase()] : [])))];
}

/** Who the subject (a customer id or an email) is: the customer ids and the emails to erase. */
async function resolve(subject: string, deps: EraseDeps): Promise<{ ids: string[]; emails: string[] }> {
  if (!isEmail(subject)) return { ids: [subject], emails: await emailsOf(deps, [subject]) };
  const ids = [
    ...new Set([
      ...(await customersWithEmail(deps.projector, subject)),
      ...(await sinkCustomersWithEmail(deps.sink, subject)),
    ]),
  ].sort();
  const emails = [...new Set([subject.toLowerCase(), ...(ids.length > 0 ? await emailsOf(deps, ids) : [])])];
  return { ids, emails };
}

const sum = (counts: readonly { rows: number }[]) => counts.reduce((n, c) => n + c.rows, 0);

/**
 * `pnpm cli erase`: records the erasure (digests only) so that no fold, rebuild, backfill or late
 * webhook brings the person back, removes their rows from every generation and from the sink's
 * tables, deletes the Brevo contact, and after `settleMs` does it all once more for what was in
 * flight. Idempotent: a second run finds the earlier request and nothing left to remove.
 */
export async function erase(subject: string, reason: string | null, deps: EraseDeps): Promise<EraseReport> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const { ids, emails } = await resolve(subject, deps);
  // A guest (checkout without Stripe customer, issue #20) is known to the sink only: its ledger
  // rows under the email's hash, and a Brevo contact identified by the email. The projector never
  // stores guests. Whoever the subject is, every email of theirs may also have been a guest's.
  const guestRows = sum(await forgetContacts(deps.sink, emails.map(guestIdOf)));
  if (ids.length === 0 && guestRows > 0) {
    deps.say(`guest: removed ${guestRows} event-ledger row(s)`);
    const outcome =
      deps.deleteContact === undefined ? undefined : await deps.deleteContact(subject.toLowerCase(), "email_id");
    const brevo = outcome === undefined ? "skipped" : outcome.ok ? "deleted" : "failed";
    deps.say(`Brevo: guest contact ${brevo}`);
    return { customers: [], objects: 0, earlier: [], projectorRows: [], sinkRows: [], brevo, secondPass: 0 };
  }
  if (ids.length === 0) {
    if (await isErased(deps.projector, subject.toLowerCase())) {
      deps.say("already erased: no customer with that email is left anywhere");
      return {
        customers: [],
        objects: 0,
        earlier: [],
        projectorRows: [],
        sinkRows: [],
        brevo: "deleted",
        secondPass: 0,
      };
    }
    throw new AppError(
      "erase_not_found",
      "no customer with that email in the projection or the sink; erase by customer id (cus_…) instead",
    );
  }
  deps.say(`erasing ${ids.length} customer(s): ${ids.join(", ")}`);
  const objects = await objectIdsOf(deps.projector, ids);
  const everything = [...ids, ...objects];

  const purge = () =>
    inTransaction(deps.projector, async (client) => {
      await lockAllGenerations(client);
      return purgeIds(client, everything);
    });

  const { earlier, erasureIds } = await inTransaction(deps.projector, async (client) => {
    await lockAllGenerations(client);
    const earlier: string[] = [];
    const erasureIds: string[] = [];
    for (const customerId of ids) {
      const record = await recordErasure(client, { customerId, objectIds: objects, emails, reason });
      if (record.alreadyRequestedAt !== null) earlier.push(customerId);
      erasureIds.push(record.erasureId);
    }
    return { earlier, erasureIds };
  });
  if (earlier.length > 0)
    deps.say(`already on the erasure list: ${earlier.join(", ")} (this run finishes what is left)`);
  deps.say(
    `erasure list: ${ids.length} customer(s), ${objects.length} object(s), ${emails.length} email(s), as digests`,
  );

  const projectorRows = await purge();
  for (const id of erasureIds) await markErasure(deps.projector, id, "purged_at");
  deps.say(`projection: removed ${purgedRows(projectorRows)} row(s) from every generation`);

  const deleteContacts = async (): Promise<"deleted" | "skipped" | "failed"> => {
    if (deps.deleteContact === undefined) return "skipped";
    let failed = false;
    for (const id of ids) {
      const outcome = await deps.deleteContact(id);
      if (!outcome.ok) {
        failed = true;
        deps.say(`Brevo: deleting contact ${id} failed: ${outcome.code ?? ""} ${outcome.message ?? ""}`.trimEnd());
      }
    }
    return failed ? "failed" : "deleted";
  };
  let brevo = await deleteContacts();
  if (brevo === "deleted") for (const id of erasureIds) await markErasure(deps.projector, id, "brevo_deleted_at");
  deps.say(
    brevo === "skipped"
      ? "Brevo: NOT deleted (--skip-brevo); run erase again with BREVO_API_KEY to finish"
      : `Brevo: contact(s) ${brevo}`,
  );
  const sinkRows = await forgetContacts(deps.sink, ids);
  deps.say(`sink: removed ${sum(sinkRows)} row(s) (pushed state, failures, event ledger, cursors)`);

  deps.say(`waiting ${Math.round(deps.settleMs / 1000)} s for batches and sink passes already in flight`);
  await sleep(deps.settleMs);
  const late = sum(await purge()) + sum(await forgetContacts(deps.sink, ids));
  if (brevo !== "skipped") brevo = (await deleteContacts()) === "failed" ? "failed" : brevo;
  deps.say(late === 0 ? "second pass: nothing left" : `second pass: removed ${late} late row(s)`);
  deps.say(
    "the event log still holds their events until `pnpm cli compact-log` runs (the projector skips them meanwhile)",
  );
  return { customers: ids, objects: objects.length, earlier, projectorRows, sinkRows, brevo, secondPass: late };
}
