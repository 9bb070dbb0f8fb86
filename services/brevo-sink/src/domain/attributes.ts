import type { BrevoAttributeType } from "./fields.ts";
import type { AttributeMapping } from "./sink-config.ts";

/** An attribute as `GET /contacts/attributes` lists it. */
export interface ExistingAttribute {
  readonly name: string;
  readonly category: string;
  readonly type?: string | undefined;
}

export interface AttributePlan {
  readonly create: readonly { readonly name: string; readonly type: BrevoAttributeType }[];
  /** Mapped attributes that exist with another type: Brevo would silently drop our values. */
  readonly conflicts: readonly {
    readonly name: string;
    readonly expected: BrevoAttributeType;
    readonly actual: string;
  }[];
}

/**
 * Which mapped attributes must be created, and which exist with a type our values would not fit.
 * Brevo reports SMS-like built-ins as `text`; category/calculated/global attributes cannot be
 * written by a contact update, so they conflict too.
 */
export function planAttributes(
  mapped: readonly AttributeMapping[],
  existing: readonly ExistingAttribute[],
): AttributePlan {
  const byName = new Map(existing.map((a) => [a.name.toUpperCase(), a]));
  const create: { name: string; type: BrevoAttributeType }[] = [];
  const conflicts: { name: string; expected: BrevoAttributeType; actual: string }[] = [];
  for (const m of mapped) {
    const found = byName.get(m.attribute);
    if (found === undefined) {
      create.push({ name: m.attribute, type: m.type });
      continue;
    }
    const actual = found.category === "normal" ? (found.type ?? "text") : `${found.category} attribute`;
    if (actual !== m.type) conflicts.push({ name: m.attribute, expected: m.type, actual });
  }
  return { create, conflicts };
}

export const describeConflicts = (plan: AttributePlan): string =>
  plan.conflicts
    .map(
      (c) =>
        `${c.name} exists in Brevo as ${c.actual} but the config writes ${c.expected} values (Brevo would ignore them): ` +
        `change its type in Brevo, map another attribute name, or set attributes.${c.name}.type: ${c.actual}`,
    )
    .join("\n");
