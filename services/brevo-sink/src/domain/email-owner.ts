/**
 * Brevo keeps emails unique: of several customers sharing one, only one can own the contact with
 * that email. Left to the order in which parallel requests reach Brevo, the owner would be whoever
 * wins a race. Instead, among the customers pushed together, the oldest one (Stripe `created`,
 * then customer id) owns the email and is pushed first; the others are pushed after it and wait,
 * refused (duplicate_parameter), in the failures table until the email is free. A contact that
 * already holds the email in Brevo keeps it until its customer's email changes.
 */
export interface EmailClaim {
  readonly extId: string;
  readonly email: string | null;
  /** Unix seconds; unknown sorts last. */
  readonly createdAt: number | null;
}

/** The ext_ids that do not own their (shared) email, to push only after the owners. */
export function nonOwners(claims: readonly EmailClaim[]): Set<string> {
  const byEmail = new Map<string, EmailClaim[]>();
  for (const c of claims) {
    if (c.email === null) continue;
    const list = byEmail.get(c.email) ?? [];
    list.push(c);
    byEmail.set(c.email, list);
  }
  const out = new Set<string>();
  for (const list of byEmail.values()) {
    if (list.length < 2) continue;
    const [, ...rest] = [...list].sort(olderFirst);
    for (const c of rest) out.add(c.extId);
  }
  return out;
}

const olderFirst = (a: EmailClaim, b: EmailClaim): number =>
  (a.createdAt ?? Number.POSITIVE_INFINITY) - (b.createdAt ?? Number.POSITIVE_INFINITY) ||
  (a.extId < b.extId ? -1 : a.extId > b.extId ? 1 : 0);
