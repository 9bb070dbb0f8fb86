import type { IncomingMessage } from "node:http";
import type { BodyBudget } from "./body-budget.ts";

export type RawBodyFailure = "body_too_large" | "body_aborted" | "overloaded" | "body_too_slow";
export type RawBodyResult = { ok: true; body: Buffer } | { ok: false; reason: RawBodyFailure };

export interface RawBodyLimits {
  /** Per request. */
  maxBytes: number;
  /** Shared by every request; what this request took is given back by `release`. */
  budget: BodyBudget;
  /** Bodies above this size count as large (see BodyBudget). */
  largeBodyBytes: number;
  /** Below this rate over a window, the client is stalling: the request is cut. */
  minBytesPerSecond: number;
  rateWindowMs: number;
}

/**
 * Reads the request body as bytes (the signature covers the bytes, not a parsed form). Refuses as
 * early as possible: from Content-Length when given (before buffering anything), else while
 * streaming. Bytes are taken from the shared budget as they arrive, or all at once for a declared
 * length, and stay taken until `release()` — the caller calls it once the answer is sent.
 */
export function readRawBody(
  req: IncomingMessage,
  limits: RawBodyLimits,
): { result: Promise<RawBodyResult>; release: () => void } {
  const declaredHeader = req.headers["content-length"];
  const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
  const large = declared === undefined || declared > limits.largeBodyBytes;
  let held = 0;
  const release = () => {
    limits.budget.give(held, large);
    held = 0;
  };
  if (declared !== undefined && Number.isFinite(declared) && declared > limits.maxBytes) {
    return { result: Promise.resolve({ ok: false, reason: "body_too_large" }), release };
  }
  if (declared !== undefined && Number.isFinite(declared)) {
    if (!limits.budget.tryTake(declared, large)) {
      return { result: Promise.resolve({ ok: false, reason: "overloaded" }), release };
    }
    held = declared;
  }

  const result = new Promise<RawBodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    let atLastCheck = 0;
    const rateCheck = setInterval(() => {
      const minimum = (limits.minBytesPerSecond * limits.rateWindowMs) / 1000;
      if (size - atLastCheck < minimum) finish({ ok: false, reason: "body_too_slow" });
      atLastCheck = size;
    }, limits.rateWindowMs);
    const finish = (r: RawBodyResult) => {
      if (settled) return;
      settled = true;
      clearInterval(rateCheck);
      if (!r.ok) {
        chunks.length = 0;
        // Stop reading: the caller answers with `connection: close` and the socket goes away.
        req.pause();
      }
      resolve(r);
    };
    req.on("data", (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limits.maxBytes || (declared !== undefined && size > declared)) {
        finish({ ok: false, reason: "body_too_large" });
        return;
      }
      if (declared === undefined) {
        if (!limits.budget.tryTake(chunk.length, large)) {
          finish({ ok: false, reason: "overloaded" });
          return;
        }
        held += chunk.length;
      }
      chunks.push(chunk);
    });
    req.on("end", () =>
      finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) }),
    );
    req.on("aborted", () => finish({ ok: false, reason: "body_aborted" }));
    req.on("error", () => finish({ ok: false, reason: "body_aborted" }));
    req.on("close", () => finish({ ok: false, reason: "body_aborted" }));
  });
  return { result, release };
}
