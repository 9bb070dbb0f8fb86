import type { RecordDecoder } from "../consumer/decode-record.ts";
import { decodeEvent } from "../domain/index.ts";

/**
 * A record decoder for tests whose records carry the Stripe event JSON as their value, without
 * the registry's Avro envelope (decoding is tested on its own; these tests are about positions
 * and interleavings).
 */
export const decodeJsonRecord: RecordDecoder = async (value) => {
  const decoded = decodeEvent(JSON.parse(String(value)));
  return decoded.ok ? { ok: true, event: decoded.event } : { ok: false, errorClass: "invalid_event", reason: "bad" };
};
