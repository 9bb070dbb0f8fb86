/** The projector's side of `pnpm cli erase` and `pnpm cli compact-log` (issue #16). */

export { type ErasedIds, rawIdsNamed } from "../domain/index.ts";
export { idDigest } from "./digest.ts";
export { createErasureList, type ErasureList } from "./erasure-list.ts";
export {
  customersWithEmail,
  type ErasureRecord,
  isErased,
  lockAllGenerations,
  markErasure,
  objectIdsOf,
  recordErasure,
} from "./erasure-store.ts";
export { dropGeneration, type GenerationInfo, listGenerations, scrubRetired } from "./generations.ts";
export { type PurgeCount, purgeDigests, purgedRows, purgeIds } from "./purge.ts";
