import { desiredContact } from "../domain/desired.ts";
import type { CustomerReadModel } from "../domain/read-model.ts";
import type { SinkConfig } from "../domain/sink-config.ts";
import type { FakeBrevo } from "./fake-brevo.ts";

/**
 * Oracle C (RELIABILITY.md): after quiescence the fake's contacts equal the desired state derived
 * from the projection. Returns one line per difference; empty means equal.
 */
export function brevoDiffersFromDesired(
  fake: FakeBrevo,
  config: SinkConfig,
  models: Iterable<CustomerReadModel>,
): string[] {
  const problems: string[] = [];
  for (const m of models) {
    const d = desiredContact(m, config);
    const c = fake.contactByExtId(m.customerId);
    // A customer without email (removed in Stripe) is treated like a deleted one (diff.ts).
    if (d.kind === "skip" || d.kind === "deleted") {
      if (!c) continue;
      if (config.deletedPolicy === "delete_contact") problems.push(`${m.customerId}: deleted customer still in Brevo`);
      else if (c.listIds.size > 0) problems.push(`${m.customerId}: deleted customer still in lists ${[...c.listIds]}`);
      continue;
    }
    if (!c) {
      problems.push(`${m.customerId}: missing in Brevo`);
      continue;
    }
    if (c.email !== d.state.email) problems.push(`${m.customerId}: email ${c.email} != ${d.state.email}`);
    for (const [k, v] of Object.entries(d.state.attributes)) {
      const actual = c.attributes[k] ?? null;
      if (actual !== v) problems.push(`${m.customerId}: ${k} = ${JSON.stringify(actual)}, want ${JSON.stringify(v)}`);
    }
    const lists = [...c.listIds].sort((a, b) => a - b).join(",");
    if (lists !== d.state.lists.join(","))
      problems.push(`${m.customerId}: lists [${lists}] != [${d.state.lists.join(",")}]`);
  }
  return problems;
}

/** Stripe event ids the fake received more than once. */
export function eventsSentTwice(fake: FakeBrevo): string[] {
  const seen = new Map<string, number>();
  for (const e of fake.events) {
    const id = String((e.properties as Record<string, unknown> | undefined)?.["stripe_event_id"]);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}
