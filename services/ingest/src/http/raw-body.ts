import type { IncomingMessage } from "node:http";

export type RawBodyResult = { ok: true; body: Buffer } | { ok: false; reason: "body_too_large" | "body_aborted" };

/**
 * Reads the request body as bytes (the signature covers the bytes, not a parsed form), refusing
 * anything over `limit` as early as possible: from Content-Length when given, else while streaming.
 */
export function readRawBody(req: IncomingMessage, limit: number): Promise<RawBodyResult> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, reason: "body_too_large" });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: RawBodyResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) {
        // Keep draining (and discarding) so the socket can carry the 413 back.
        chunks.length = 0;
        finish({ ok: false, reason: "body_too_large" });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () =>
      finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) }),
    );
    req.on("aborted", () => finish({ ok: false, reason: "body_aborted" }));
    req.on("error", () => finish({ ok: false, reason: "body_aborted" }));
  });
}
