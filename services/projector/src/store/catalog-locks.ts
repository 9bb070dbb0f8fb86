import type { ClientBase } from "pg";
import { CATALOG_KINDS, type FactKind } from "./tables.ts";

/**
 * Catalog entry locks (README "Partition-parallel writes"). A price, product or coupon is read by
 * customers of every slot, so no slot lock guards it; instead every transaction that reads an
 * entry holds the entry's lock shared, and a batch that changes it holds it exclusively before it
 * asks which customers reference the entry. Either a reader committed first (its references are
 * visible to the writer's question, asked after the lock), or it waits for the writer and then
 * reads the new entry. Advisory, not row locks: an entry that does not exist yet has no row, and
 * a customer derived without it must be found again when it arrives.
 */
export async function lockCatalogEntries(
  db: ClientBase,
  generation: number,
  refs: Iterable<string>,
  mode: "read" | "write",
): Promise<void> {
  const sorted = [...new Set(refs)].sort();
  if (sorted.length === 0) return;
  const fn = mode === "read" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  // In ref order, so two writers never wait on each other in opposite orders. Its own statement:
  // the reads it guards must take their snapshot after the wait.
  await db.query(
    `SELECT count(${fn}(hashtext(current_schema() || '/catalog/' || r.ref), $1))
     FROM (SELECT ref FROM unnest($2::text[]) AS ref ORDER BY ref) AS r`,
    [generation, sorted],
  );
}

/** `kind:id` of the catalog entries among `ids` (the form of `catalog_refs`). */
export const catalogRefsIn = (ids: ReadonlyMap<FactKind, ReadonlySet<string>>): string[] =>
  [...ids].flatMap(([kind, set]) =>
    (CATALOG_KINDS as readonly string[]).includes(kind) ? [...set].map((id) => `${kind}:${id}`) : [],
  );
