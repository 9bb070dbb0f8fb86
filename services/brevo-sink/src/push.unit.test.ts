import { afterEach, describe, expect, it } from "vitest";
import { parseSinkConfigText } from "./config-file.ts";
import type { ContactCommand } from "./domain/diff.ts";
import { importGroups, type Push } from "./push.ts";
import { population } from "./testing/customers.ts";
import type { FakeBrevo } from "./testing/fake-brevo.ts";
import { sinkHarness } from "./testing/harness.ts";
import { brevoDiffersFromDesired } from "./testing/oracle.ts";

const state = (extId: string, lists: number[]) => ({
  extId,
  email: `${extId}@x.io`,
  attributes: {},
  lists,
  deleted: false,
});
const create = (extId: string, lists: number[]): Push => ({
  command: { kind: "create", extId, email: `${extId}@x.io`, attributes: {}, lists },
  next: state(extId, lists),
});
const update = (extId: string, lists: number[], addLists: number[] = [], removeLists: number[] = []): Push => ({
  command: { kind: "update", extId, attributes: { TOTAL_SPENT: 1 }, addLists, removeLists } as ContactCommand,
  next: state(extId, lists),
});
const summary = (groups: ReturnType<typeof importGroups>) =>
  Object.fromEntries([...groups].map(([k, g]) => [k, g.members.map((m) => m.next.extId).sort()]));

describe("importGroups (one /contacts/import per group)", () => {
  it.each([
    {
      name: "creates are imported into all their lists",
      pushes: [create("a", [2, 3]), create("b", [3, 2]), create("c", [2])],
      want: { "2,3": ["a", "b"], "2": ["c"] },
    },
    {
      name: "updates join the lists they newly enter, attribute-only updates ride along where they belong",
      pushes: [update("a", [2, 4], [4], [3]), update("b", [2, 3]), update("c", [2, 4]), update("d", [2, 5])],
      want: { "2": ["b", "d"], "4": ["a", "c"] },
    },
    {
      name: "attribute-only updates share the list most of them are in",
      pushes: [update("a", [2, 3]), update("b", [3, 5]), update("c", [5]), update("d", [6])],
      want: { "3": ["a", "b"], "5": ["c"], "6": ["d"] },
    },
  ])("$name", ({ pushes, want }) => {
    const groups = importGroups(pushes);
    expect(summary(groups)).toEqual(want);
    // Invariants: every push once; every group's lists ⊇ what a member joins and ⊆ its lists.
    expect([...groups.values()].flatMap((g) => g.members)).toHaveLength(pushes.length);
    for (const g of groups.values()) {
      for (const p of g.members) {
        for (const l of g.lists) expect(p.next.lists).toContain(l);
        const joins =
          p.command.kind === "create" ? p.command.lists : p.command.kind === "update" ? p.command.addLists : [];
        for (const l of joins) expect(g.lists).toContain(l);
      }
    }
  });
});

const config = parseSinkConfigText(`
version: 1
lists: { all_customers: 2, subscribers: 3, churned: 4, trialing: 5, past_due: 6 }
`);
const open: FakeBrevo[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

describe("bulk updates that move contacts between lists", () => {
  it("converge to the desired state with at most 3 imports and list calls only for removals", async () => {
    const h = await sinkHarness(config);
    open.push(h.fake);
    const models = population(600, 5).map((m, i) => (m.email === null ? { ...m, email: `y${i}@example.com` } : m));
    h.source.put(...models);
    await h.run({ forceMode: "bulk", pageSize: 10_000 });
    expect(brevoDiffersFromDesired(h.fake, config, models)).toEqual([]);

    const moved = models.map((m, i) => ({
      ...m,
      paymentCount: m.paymentCount + 1,
      subscriptionStatus: i % 4 === 0 ? "canceled" : i % 4 === 1 ? "trialing" : m.subscriptionStatus,
      churned: i % 4 === 0 ? true : i % 4 === 1 ? false : m.churned,
    }));
    h.source.put(...moved);
    h.fake.resetLog();
    const report = await h.run({ forceMode: "bulk", pageSize: 10_000 });
    expect(report.pushed).toBe(moved.length);
    expect(brevoDiffersFromDesired(h.fake, config, moved)).toEqual([]);
    const counts = h.fake.counts();
    expect(counts["addContactToList"] ?? 0).toBe(0);
    expect(counts["updateContact"] ?? 0).toBe(0);
    expect(counts["importContacts"]).toBeLessThanOrEqual(3);
    // Nothing left: a second pass sends nothing.
    h.fake.resetLog();
    expect((await h.run({ forceMode: "bulk", pageSize: 10_000 })).pushed).toBe(0);
    expect(h.fake.log).toEqual([]);
  });
});
