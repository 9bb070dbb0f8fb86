import type { ContactState } from "./contact-state.ts";
import type { Desired } from "./desired.ts";
import type { AttributeValue } from "./fields.ts";
import type { DeletedPolicy } from "./sink-config.ts";

/**
 * The minimal change that takes a Brevo contact from its last pushed state to the desired one.
 * Every command sets values (never increments), so sending one twice is harmless.
 */
export type ContactCommand =
  | {
      readonly kind: "create";
      readonly extId: string;
      readonly email: string;
      /** Non-null desired attributes only: a new contact has nothing to clear. */
      readonly attributes: Readonly<Record<string, AttributeValue>>;
      readonly lists: readonly number[];
      /**
       * Marketing lists to leave right after creating (issue #20): the email may already be a
       * guest's contact, which joined them on a checkout opt-in; the customer's consent decides.
       */
      readonly removeLists?: readonly number[];
    }
  | {
      readonly kind: "update";
      readonly extId: string;
      /** Present only when the email changed. */
      readonly email?: string;
      /** Changed attributes only; `null` = clear it in Brevo. */
      readonly attributes: Readonly<Record<string, AttributeValue | null>>;
      readonly addLists: readonly number[];
      readonly removeLists: readonly number[];
    }
  | { readonly kind: "delete"; readonly extId: string };

export type DiffResult =
  | { readonly kind: "noop" }
  | { readonly kind: "skip"; readonly reason: "no_email" }
  /** `next` is what to record as pushed once Brevo confirmed `command`. */
  | { readonly kind: "push"; readonly command: ContactCommand; readonly next: ContactState };

const NOOP: DiffResult = { kind: "noop" };
const minus = (a: readonly number[], b: readonly number[]): number[] => a.filter((x) => !b.includes(x));

export function diffContact(
  desired: Desired,
  pushed: ContactState | undefined,
  deletedPolicy: DeletedPolicy,
  marketingLists: ReadonlySet<number> = new Set(),
): DiffResult {
  switch (desired.kind) {
    case "skip":
      // Email removed in Stripe: the contact is no longer this customer's to keep in lists; treated
      // like a deletion (the policy), not frozen in "subscribers" forever.
      return pushed === undefined || pushed.deleted
        ? { kind: "skip", reason: desired.reason }
        : diffDeleted(pushed, deletedPolicy);
    case "deleted":
      return pushed === undefined || pushed.deleted ? NOOP : diffDeleted(pushed, deletedPolicy);
    case "contact":
      return pushed === undefined || pushed.deleted
        ? create(desired.state, marketingLists)
        : diffUpdate(desired.state, pushed);
    default: {
      const never: never = desired;
      return never;
    }
  }
}

function create(state: ContactState, marketingLists: ReadonlySet<number>): DiffResult {
  const attributes: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(state.attributes)) if (v !== null) attributes[k] = v;
  if (state.email === null) return NOOP;
  const removeLists = minus([...marketingLists], state.lists).sort((a, b) => a - b);
  return {
    kind: "push",
    command: {
      kind: "create",
      extId: state.extId,
      email: state.email,
      attributes,
      lists: state.lists,
      ...(removeLists.length > 0 ? { removeLists } : {}),
    },
    next: state,
  };
}

/**
 * A delta against the last confirmed push. Exact only while the bookkeeping is: a write whose outcome
 * is unknown (killed while an import ran, a call timed out) leaves an in-flight mark, and such a
 * contact is repaired whole instead (sync.ts diffRows, repairContact below).
 */
function diffUpdate(desired: ContactState, pushed: ContactState): DiffResult {
  const attributes: Record<string, AttributeValue | null> = {};
  for (const [k, v] of Object.entries(desired.attributes)) {
    if ((pushed.attributes[k] ?? null) !== v) attributes[k] = v;
  }
  const emailChanged = desired.email !== null && desired.email !== pushed.email;
  const addLists = minus(desired.lists, pushed.lists);
  const removeLists = minus(pushed.lists, desired.lists);
  if (!emailChanged && Object.keys(attributes).length === 0 && addLists.length === 0 && removeLists.length === 0) {
    // Attributes no longer mapped are left in Brevo and forgotten here: a config edit never wipes data.
    return NOOP;
  }
  return {
    kind: "push",
    command: {
      kind: "update",
      extId: desired.extId,
      ...(emailChanged && desired.email !== null ? { email: desired.email } : {}),
      attributes,
      addLists,
      removeLists,
    },
    next: desired,
  };
}

function diffDeleted(pushed: ContactState, policy: DeletedPolicy): DiffResult {
  switch (policy) {
    case "delete_contact":
      return {
        kind: "push",
        command: { kind: "delete", extId: pushed.extId },
        next: { ...pushed, attributes: {}, lists: [], deleted: true },
      };
    case "unlink_lists":
    case "clear_attributes": {
      const attributes: Record<string, null> = {};
      if (policy === "clear_attributes") {
        for (const [k, v] of Object.entries(pushed.attributes)) if (v !== null) attributes[k] = null;
      }
      if (pushed.lists.length === 0 && Object.keys(attributes).length === 0) return NOOP;
      return {
        kind: "push",
        command: { kind: "update", extId: pushed.extId, attributes, addLists: [], removeLists: pushed.lists },
        // `deleted`: the sink is done with this contact (no custom events, no further diffs).
        next: { ...pushed, attributes: { ...pushed.attributes, ...attributes }, lists: [], deleted: true },
      };
    }
    default: {
      const never: never = policy;
      return never;
    }
  }
}

/**
 * A contact whose Brevo state is unknown (a fenced pass may have overwritten it after the
 * leader's write; a write of this sink's was never confirmed, see SinkState.markInFlight): set everything the sink manages, without relying on what was last pushed.
 * Every mapped attribute (clears included), the email, every desired list added and every other
 * managed list removed; a deleted or email-less customer gets its policy against all managed lists.
 */
export function repairContact(
  desired: Desired,
  managedLists: readonly number[],
  deletedPolicy: DeletedPolicy,
): DiffResult {
  if (desired.kind !== "contact") {
    const unknown: ContactState = {
      extId: desired.extId,
      email: null,
      attributes: {},
      lists: [...managedLists],
      deleted: false,
    };
    return diffDeleted(unknown, deletedPolicy);
  }
  const state = desired.state;
  if (state.email === null) return NOOP;
  return {
    kind: "push",
    command: {
      kind: "update",
      extId: state.extId,
      email: state.email,
      attributes: { ...state.attributes },
      addLists: state.lists,
      removeLists: minus(managedLists, state.lists),
    },
    next: state,
  };
}
