import { createHash } from "node:crypto";

/**
 * The erasure list keeps digests, not ids: a list of erased people must not itself be a list of
 * their identifiers. Stripe ids carry ~80 random bits, so the digest cannot be reversed by
 * guessing. The SQL expression computes the same digest of a text column.
 */
export const idDigest = (id: string): string => createHash("sha256").update(id, "utf8").digest("hex");

export const sqlDigest = (column: string): string => `encode(sha256(convert_to(${column}, 'UTF8')), 'hex')`;
