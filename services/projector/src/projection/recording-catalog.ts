import type { Catalog } from "../domain/index.ts";
import type { CatalogKind, WorkingState } from "../store/tables.ts";

/**
 * A Catalog over the facts at hand that remembers every lookup, found or not. The found-or-not
 * part matters: a customer derived while a price was unknown must be derived again when the price
 * arrives, so misses are dependencies too. Misses not yet asked of Postgres are collected in
 * `missing` for the caller to load before deriving again.
 */
export interface RecordingCatalog {
  readonly catalog: Catalog;
  /** `kind:id` of every lookup since the last `reset`. */
  readonly refs: Set<string>;
  reset(): void;
}

export function createRecordingCatalog(
  state: WorkingState,
  /** Ids already asked of Postgres (found or absent), per kind. */
  asked: ReadonlyMap<CatalogKind, ReadonlySet<string>>,
  missing: Map<CatalogKind, Set<string>>,
): RecordingCatalog {
  let refs = new Set<string>();
  const lookup =
    <F>(kind: CatalogKind, map: ReadonlyMap<string, unknown>) =>
    (id: string): F | undefined => {
      refs.add(`${kind}:${id}`);
      const fact = map.get(id);
      if (fact === undefined && !asked.get(kind)?.has(id)) {
        const set = missing.get(kind) ?? new Set<string>();
        set.add(id);
        missing.set(kind, set);
      }
      return fact as F | undefined;
    };
  return {
    catalog: {
      product: lookup("product", state.products),
      price: lookup("price", state.prices),
      coupon: lookup("coupon", state.coupons),
      discount: lookup("discount", state.discounts),
    },
    get refs() {
      return refs;
    },
    reset() {
      refs = new Set();
    },
  };
}

/**
 * The same recording over a catalog that is complete in memory (the rebuild's fold): nothing is
 * ever missing, so only the lookups are recorded.
 */
export function recordingCatalogOver(base: Catalog): RecordingCatalog {
  let refs = new Set<string>();
  const recorded =
    <F>(kind: CatalogKind, lookup: (id: string) => F | undefined) =>
    (id: string): F | undefined => {
      refs.add(`${kind}:${id}`);
      return lookup(id);
    };
  return {
    catalog: {
      product: recorded("product", base.product),
      price: recorded("price", base.price),
      coupon: recorded("coupon", base.coupon),
      discount: recorded("discount", base.discount),
    },
    get refs() {
      return refs;
    },
    reset() {
      refs = new Set();
    },
  };
}
