/**
 * The projector's pure core: decode a Stripe event, fold it into per-object facts, derive the
 * customer read models. No IO anywhere below this folder.
 */
export { canonicalJson } from "./canonical-json.ts";
export {
  type Catalog,
  type CustomerFacts,
  DEFAULT_READ_MODEL_OPTIONS,
  deriveCustomer,
  type ReadModelOptions,
} from "./derive.ts";
export { type ErasedIds, idsNamedBy, namesErased, rawIdsNamed } from "./erasure.ts";
export { type DecodedEvent, type DecodeResult, decodeEvent, type EventMeta, StripeEventSchema } from "./events.ts";
export {
  type ChargeFact,
  type CouponFact,
  type CustomerFact,
  compareVersions,
  type DiscountFact,
  type DisputeFact,
  evolveCharge,
  evolveCoupon,
  evolveCustomer,
  evolveDiscount,
  evolveDispute,
  evolveInvoice,
  evolvePrice,
  evolveProduct,
  evolveRefund,
  evolveSubscription,
  type Fact,
  type InvoiceFact,
  type PriceFact,
  type ProductFact,
  type RefundFact,
  type SubscriptionFact,
  scrubDeletedCustomer,
  type Version,
} from "./facts.ts";
export {
  catalogOf,
  customerFactsOf,
  emptyState,
  type FoldState,
  fold,
  foldAll,
  foldAsync,
  foldMany,
  readModels,
} from "./fold.ts";
export type { Money } from "./money.ts";
export {
  CHARTMOGUL_MRR_RULES,
  type MrrCatalog,
  type MrrRules,
  monthlyFactor,
  PADDLE_MRR_RULES,
  PROFITWELL_MRR_RULES,
  STRIPE_MRR_RULES,
  type UnpricedSubscriptions,
  unpricedReason,
  unpricedSubscriptions,
} from "./mrr.ts";
export { type CustomerReadModel, isoTime, type ReadModelRow, toReadModelRow } from "./read-model.ts";
export type { ObjectKind, ObjectSnapshot } from "./snapshots.ts";
