import { describe, expect, it } from "vitest";
import type { ContactState } from "./contact-state.ts";
import type { Desired } from "./desired.ts";
import { type DiffResult, diffContact } from "./diff.ts";
import type { DeletedPolicy } from "./sink-config.ts";

const state = (overrides: Partial<ContactState> = {}): ContactState => ({
  extId: "cus_1",
  email: "a@example.com",
  attributes: { TOTAL_SPENT: 10, PLAN_NAME: "Pro", SUB_STATUS: "active" },
  lists: [1, 2],
  deleted: false,
  ...overrides,
});
const want = (overrides: Partial<ContactState> = {}): Desired => ({ kind: "contact", state: state(overrides) });

const cases: [string, Desired, ContactState | undefined, DeletedPolicy, DiffResult][] = [
  [
    "new contact: create with non-null attributes and its lists",
    want({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: null } }),
    undefined,
    "unlink_lists",
    {
      kind: "push",
      command: {
        kind: "create",
        extId: "cus_1",
        email: "a@example.com",
        attributes: { TOTAL_SPENT: 10 },
        lists: [1, 2],
      },
      next: state({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: null } }),
    },
  ],
  ["nothing changed: no command", want(), state(), "unlink_lists", { kind: "noop" }],
  [
    "one attribute changed: only that one is sent",
    want({ attributes: { TOTAL_SPENT: 12.5, PLAN_NAME: "Pro", SUB_STATUS: "active" } }),
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: { TOTAL_SPENT: 12.5 }, addLists: [], removeLists: [] },
      next: state({ attributes: { TOTAL_SPENT: 12.5, PLAN_NAME: "Pro", SUB_STATUS: "active" } }),
    },
  ],
  [
    "a value went away: explicit clear",
    want({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: null, SUB_STATUS: "active" } }),
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: { PLAN_NAME: null }, addLists: [], removeLists: [] },
      next: state({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: null, SUB_STATUS: "active" } }),
    },
  ],
  [
    "attribute newly mapped with no value: nothing to send",
    want({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: "Pro", SUB_STATUS: "active", VIP: null } }),
    state(),
    "unlink_lists",
    { kind: "noop" },
  ],
  [
    "list membership changes: adds and removes only",
    want({ lists: [2, 3] }),
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: {}, addLists: [3], removeLists: [1] },
      next: state({ lists: [2, 3] }),
    },
  ],
  [
    "email changed: sent, keyed by ext_id",
    want({ email: "new@example.com" }),
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: {
        kind: "update",
        extId: "cus_1",
        email: "new@example.com",
        attributes: {},
        addLists: [],
        removeLists: [],
      },
      next: state({ email: "new@example.com" }),
    },
  ],
  [
    "attribute no longer mapped: left alone, not cleared",
    want({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: "Pro" } }),
    state(),
    "unlink_lists",
    { kind: "noop" },
  ],
  [
    "no email, never pushed: skipped",
    { kind: "skip", extId: "cus_1", reason: "no_email" },
    undefined,
    "unlink_lists",
    { kind: "skip", reason: "no_email" },
  ],
  [
    "email removed in Stripe: the deletion policy applies (not frozen in its lists)",
    { kind: "skip", extId: "cus_1", reason: "no_email" },
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: {}, addLists: [], removeLists: [1, 2] },
      next: state({ lists: [], deleted: true }),
    },
  ],
  [
    "deleted, never pushed: nothing",
    { kind: "deleted", extId: "cus_1" },
    undefined,
    "delete_contact",
    { kind: "noop" },
  ],
  [
    "deleted, unlink_lists",
    { kind: "deleted", extId: "cus_1" },
    state(),
    "unlink_lists",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: {}, addLists: [], removeLists: [1, 2] },
      next: state({ lists: [], deleted: true }),
    },
  ],
  [
    "deleted, clear_attributes",
    { kind: "deleted", extId: "cus_1" },
    state({ attributes: { TOTAL_SPENT: 10, PLAN_NAME: null } }),
    "clear_attributes",
    {
      kind: "push",
      command: { kind: "update", extId: "cus_1", attributes: { TOTAL_SPENT: null }, addLists: [], removeLists: [1, 2] },
      next: state({ attributes: { TOTAL_SPENT: null, PLAN_NAME: null }, lists: [], deleted: true }),
    },
  ],
  [
    "deleted, delete_contact",
    { kind: "deleted", extId: "cus_1" },
    state(),
    "delete_contact",
    {
      kind: "push",
      command: { kind: "delete", extId: "cus_1" },
      next: state({ attributes: {}, lists: [], deleted: true }),
    },
  ],
  [
    "deleted and already unlinked: nothing",
    { kind: "deleted", extId: "cus_1" },
    state({ lists: [] }),
    "unlink_lists",
    { kind: "noop" },
  ],
  [
    "deleted and already deleted: nothing",
    { kind: "deleted", extId: "cus_1" },
    state({ deleted: true }),
    "delete_contact",
    { kind: "noop" },
  ],
];

describe("diffContact", () => {
  it.each(cases)("%s", (_label, desired, pushed, policy, expected) => {
    expect(diffContact(desired, pushed, policy)).toEqual(expected);
  });

  it("applying the diff's next state makes the same diff a no-op (idempotent)", () => {
    for (const [, desired, pushed, policy] of cases) {
      const first = diffContact(desired, pushed, policy);
      if (first.kind !== "push") continue;
      expect(diffContact(desired, first.next, policy)).toEqual(
        desired.kind === "skip" ? { kind: "skip", reason: "no_email" } : { kind: "noop" },
      );
    }
  });
});
