import { createHash } from "node:crypto";

/**
 * Guests (issue #20): a Checkout session in payment mode creates no Stripe customer unless asked,
 * so most abandoned checkouts carry `customer: null` and only the buyer's email. Such a buyer is
 * a Brevo contact identified by email (no ext_id); when a customer with that email is pushed
 * later, Brevo finds the contact by email and gives it the customer's ext_id (it has none), so
 * the person stays one contact.
 *
 * What the sink records about a guest (its event ledger) names it by `guestKey`, a hash of the
 * normalised email: no email is stored, and `pnpm cli erase --email` can still find the rows.
 */

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Trimmed, lower case: Brevo matches emails case-insensitively. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** `guest_` + 32 hex digits of SHA-256 over the normalised email. Never a `cus_` id. */
export const guestKey = (email: string): string =>
  `guest_${createHash("sha256").update(normaliseEmail(email)).digest("hex").slice(0, 32)}`;

export const isGuestKey = (id: string): boolean => id.startsWith("guest_");

/**
 * The buyer's email of a checkout session without customer: `customer_details.email` (what the
 * buyer typed), else `customer_email` (what the integration prefilled). Undefined otherwise.
 */
export function guestEmailOf(object: Readonly<Record<string, unknown>>): string | undefined {
  if (object["object"] !== "checkout.session") return undefined;
  const details = object["customer_details"];
  const typed = isRecord(details) ? details["email"] : undefined;
  const email = typeof typed === "string" && typed.trim() !== "" ? typed : object["customer_email"];
  if (typeof email !== "string" || !email.includes("@")) return undefined;
  return normaliseEmail(email);
}

/** Checkout's `consent.promotions` (collected with `consent_collection.promotions: auto`). */
export function checkoutPromotionsConsent(object: Readonly<Record<string, unknown>>): "opt_in" | "opt_out" | null {
  const consent = object["consent"];
  const promotions = isRecord(consent) ? consent["promotions"] : undefined;
  return promotions === "opt_in" || promotions === "opt_out" ? promotions : null;
}

/**
 * The marketing lists a guest's contact joins or leaves: only on an explicit choice at checkout
 * (`opt_in` joins `consent.marketing_lists`, `opt_out` leaves them). Without one, nothing
 * changes: the email may already be a customer's contact, whose consent is the customer's.
 */
export function guestLists(
  object: Readonly<Record<string, unknown>>,
  marketingLists: ReadonlySet<number>,
): { readonly add: readonly number[]; readonly remove: readonly number[] } {
  const consent = checkoutPromotionsConsent(object);
  const ids = [...marketingLists].sort((a, b) => a - b);
  if (consent === "opt_in") return { add: ids, remove: [] };
  if (consent === "opt_out") return { add: [], remove: ids };
  return { add: [], remove: [] };
}
