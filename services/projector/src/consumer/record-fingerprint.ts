import { createHash } from "node:crypto";

/**
 * Identifies a record by its content: SHA-256 of its key and value (length-prefixed, so a key
 * boundary cannot move), base64url. Two topics holding the same bytes at the same offset are, for
 * the projection, the same history; anything else is not.
 */
export function recordFingerprint(key: Buffer | null, value: Buffer | null): string {
  const hash = createHash("sha256");
  const part = (bytes: Buffer | null) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(bytes === null ? -1 : bytes.length);
    hash.update(length);
    if (bytes !== null) hash.update(bytes);
  };
  part(key);
  part(value);
  return hash.digest("base64url");
}
