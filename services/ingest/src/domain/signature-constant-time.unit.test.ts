import { timingSafeEqual } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { objects, stripeEventBody, stripeSignatureHeader } from "../testing/stripe-signing.ts";
import { verifyStripeSignature } from "./signature.ts";

// Wraps node's own function so the default path of verifyStripeSignature (no injected comparison)
// can be observed. Kept in its own file so the module mock touches nothing else.
vi.mock("node:crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:crypto")>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

describe("default comparison", () => {
  it("goes through crypto.timingSafeEqual with equal-length buffers", () => {
    const now = 1_721_954_100;
    const raw = stripeEventBody({ type: "customer.updated", object: objects.customer() });
    const header = stripeSignatureHeader(raw, "whsec_a", now);
    const spy = vi.mocked(timingSafeEqual);
    spy.mockClear();

    const result = verifyStripeSignature(
      Buffer.from(raw),
      header,
      { secrets: [{ name: "a", secret: "whsec_a" }], toleranceSeconds: 300 },
      { now: () => now * 1000 },
    );

    expect(result).toMatchObject({ ok: true, secretName: "a" });
    expect(spy).toHaveBeenCalledTimes(1);
    const [a, b] = spy.mock.calls[0] ?? [];
    expect((a as Buffer).length).toBe(32);
    expect((b as Buffer).length).toBe(32);
  });
});
