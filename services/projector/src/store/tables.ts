import type { FoldState, ObjectKind } from "../domain/index.ts";

/** Where each object kind's facts live, in Postgres and in the fold's state. */
export const FACT_KINDS = [
  "customer",
  "charge",
  "refund",
  "dispute",
  "invoice",
  "subscription",
  "product",
  "price",
  "coupon",
  "discount",
] as const satisfies readonly ObjectKind[];

export type FactKind = (typeof FACT_KINDS)[number];

export const STATE_KEY = {
  customer: "customers",
  charge: "charges",
  refund: "refunds",
  dispute: "disputes",
  invoice: "invoices",
  subscription: "subscriptions",
  product: "products",
  price: "prices",
  coupon: "coupons",
  discount: "discounts",
} as const satisfies Record<FactKind, keyof FoldState>;

/** Table names are fixed identifiers (never user input), so they are spliced into SQL as they are. */
export const factTable = (kind: FactKind): string => `fact_${kind}`;

/** Kinds shared between customers and looked up by id while deriving (the Catalog). */
export const CATALOG_KINDS = ["product", "price", "coupon", "discount"] as const satisfies readonly FactKind[];
export type CatalogKind = (typeof CATALOG_KINDS)[number];

/** A fact as stored: the domain's plain JSON value; its precise type depends on the kind. */
export type StoredFact = { readonly winner: { readonly data: Record<string, unknown> } } & Record<string, unknown>;

/**
 * The object a fact belongs to, as the fact tables' generated `customer_id` / `charge_id` columns
 * read it (`fact #>> '{winner,data,customer}'`): null when absent or not an id.
 */
export const ownerOf = (fact: StoredFact | undefined, field: "customer" | "charge"): string | null => {
  const value = fact?.winner.data[field];
  return typeof value === "string" ? value : null;
};

/** A partial, mutable FoldState: the facts one batch needs, loaded from Postgres. */
export type WorkingState = { -readonly [K in keyof FoldState]: Map<string, unknown> };

export const emptyWorkingState = (): WorkingState => ({
  customers: new Map(),
  charges: new Map(),
  refunds: new Map(),
  disputes: new Map(),
  invoices: new Map(),
  subscriptions: new Map(),
  products: new Map(),
  prices: new Map(),
  coupons: new Map(),
  discounts: new Map(),
});

/** The same maps typed as the domain's FoldState (facts are stored exactly as the domain made them). */
export const asFoldState = (state: WorkingState): FoldState => state as unknown as FoldState;
