import type { DiffResult } from "./diff.ts";

/** What a run would send: counts per kind and a sample, with attribute names but no values (PII). */
export interface PlanSummary {
  readonly customers: number;
  readonly create: number;
  readonly update: number;
  readonly delete: number;
  readonly unchanged: number;
  readonly skippedNoEmail: number;
  readonly attributeSets: number;
  readonly attributeClears: number;
  readonly listAdds: number;
  readonly listRemoves: number;
  readonly emailChanges: number;
  readonly sample: readonly string[];
}

export function summarize(results: readonly { extId: string; result: DiffResult }[], sampleSize = 10): PlanSummary {
  const s = {
    customers: results.length,
    create: 0,
    update: 0,
    delete: 0,
    unchanged: 0,
    skippedNoEmail: 0,
    attributeSets: 0,
    attributeClears: 0,
    listAdds: 0,
    listRemoves: 0,
    emailChanges: 0,
    sample: [] as string[],
  };
  for (const { extId, result } of results) {
    if (result.kind === "noop") s.unchanged++;
    else if (result.kind === "skip") s.skippedNoEmail++;
    else {
      const c = result.command;
      let line: string;
      if (c.kind === "create") {
        s.create++;
        s.attributeSets += Object.keys(c.attributes).length;
        s.listAdds += c.lists.length;
        line = `create ${extId}: set ${Object.keys(c.attributes).join(",") || "-"}; lists +[${c.lists.join(",")}]`;
      } else if (c.kind === "update") {
        s.update++;
        const entries = Object.entries(c.attributes);
        const sets = entries.filter(([, v]) => v !== null).map(([k]) => k);
        const clears = entries.filter(([, v]) => v === null).map(([k]) => k);
        s.attributeSets += sets.length;
        s.attributeClears += clears.length;
        s.listAdds += c.addLists.length;
        s.listRemoves += c.removeLists.length;
        if (c.email !== undefined) s.emailChanges++;
        line =
          `update ${extId}:${c.email !== undefined ? " email;" : ""} set ${sets.join(",") || "-"}; clear ${clears.join(",") || "-"}; ` +
          `lists +[${c.addLists.join(",")}] -[${c.removeLists.join(",")}]`;
      } else {
        s.delete++;
        line = `delete ${extId}`;
      }
      if (s.sample.length < sampleSize) s.sample.push(line);
    }
  }
  return s;
}

export const formatPlan = (p: PlanSummary): string =>
  [
    `customers: ${p.customers}`,
    `contacts to create: ${p.create}, to update: ${p.update}, to delete: ${p.delete}, unchanged: ${p.unchanged}`,
    `skipped (no email): ${p.skippedNoEmail}`,
    `attribute values set: ${p.attributeSets}, cleared: ${p.attributeClears}, email changes: ${p.emailChanges}`,
    `list memberships added: ${p.listAdds}, removed: ${p.listRemoves}`,
    ...(p.sample.length > 0 ? ["sample:", ...p.sample.map((l) => `  ${l}`)] : []),
  ].join("\n");
