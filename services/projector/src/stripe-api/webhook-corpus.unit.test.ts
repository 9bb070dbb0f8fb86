/**
 * Every event type in Stripe's current webhook list (the stripe SDK's `EnabledEvent` union,
 * read from its type declarations), carrying Stripe's own example object of the matching
 * resource in the current API shape (the shared fixtures3.json, read, never copied), decodes
 * without an error. Unknown kinds are ignored, which is fine; a shape Stripe really sends being
 * reported as an invalid line is not.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodeEvent } from "../domain/index.ts";

const FIXTURES = fileURLToPath(new URL("../../../../../shared/fixtures/stripe/fixtures3.json", import.meta.url));

/** The webhook event types the installed stripe SDK knows (its `EnabledEvent` type, minus `*`). */
const webhookEventTypes = (): string[] => {
  const require = createRequire(fileURLToPath(new URL("../../../ingest/package.json", import.meta.url)));
  // The SDK's entry point sits in esm/ or cjs/, beside resources/*.d.ts.
  const entry = dirname(require.resolve("stripe"));
  const declarations = readFileSync(join(entry, "resources", "WebhookEndpoints.d.ts"), "utf8");
  const union = /type EnabledEvent = ([^;]+);/.exec(declarations)?.[1] ?? "";
  return [...union.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? "").filter((t) => t !== "*");
};

/** Event type prefixes whose object is not the resource of the same name (Stripe's event docs). */
const OBJECT_OF: Readonly<Record<string, string>> = {
  "charge.dispute": "dispute",
  "charge.refund": "refund",
  "customer.subscription": "subscription",
  "customer.discount": "discount",
  "customer.source": "card",
  "customer.tax_id": "tax_id",
  "account.application": "application",
  "account.external_account": "bank_account",
  "application_fee.refund": "fee_refund",
  "source.transaction": "source_transaction",
  "sigma.scheduled_query_run": "scheduled_query_run",
  customer_cash_balance_transaction: "customer_cash_balance_transaction",
};

const PROJECTED: ReadonlySet<string> = new Set([
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
]);

const resourceOf = (type: string, resources: Record<string, unknown>): string | null => {
  const parts = type.split(".");
  for (let n = parts.length - 1; n >= 1; n--) {
    const prefix = parts.slice(0, n).join(".");
    const mapped = OBJECT_OF[prefix] ?? prefix;
    if (mapped in resources) return mapped;
    // issuing_card.created carries an `issuing.card`.
    const dotted = prefix.replace("_", ".");
    if (dotted in resources) return dotted;
  }
  // charge.refunded, charge.captured…: the first segment is the object.
  return parts[0] !== undefined && parts[0] in resources ? parts[0] : null;
};

const HAVE_FIXTURES = existsSync(FIXTURES);

describe.skipIf(!HAVE_FIXTURES)("Stripe's webhook list in the current shape", () => {
  // vitest still runs a skipped describe's body to collect it: read the fixtures only when present.
  const resources = HAVE_FIXTURES
    ? (JSON.parse(readFileSync(FIXTURES, "utf8")) as { resources: Record<string, unknown> }).resources
    : {};
  const types = webhookEventTypes();
  const cases = types.map((type) => ({ type, resource: resourceOf(type, resources) }));

  it("reads the list from the SDK (a vacuous list would make this test pass for nothing)", () => {
    expect(types.length).toBeGreaterThan(200);
    expect(types).toEqual(expect.arrayContaining(["charge.succeeded", "customer.discount.created", "invoice.paid"]));
    // The projected kinds all have their example object.
    for (const kind of [
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
    ]) {
      expect(
        cases.some((c) => c.resource === kind),
        kind,
      ).toBe(true);
    }
  });

  it.each(cases)("$type ($resource) is not an invalid line", ({ type, resource }) => {
    const object =
      resource === null ? { id: "obj_1", object: type.split(".")[0] } : structuredClone(resources[resource]);
    const result = decodeEvent({
      id: `evt_${type}`,
      object: "event",
      api_version: "2025-03-31.basil",
      created: 1_760_000_000,
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    });
    expect(result.ok ? "ok" : result.reason).toBe("ok");
    // A kind the read model uses must reach the fold, not be dropped as unknown.
    // (Except coupon.deleted, ignored on purpose: discounts already applied keep their coupon.)
    if (result.ok && resource !== null && PROJECTED.has(resource) && type !== "coupon.deleted") {
      expect(result.event.outcome === "ignored" ? result.event.reason : "snapshot").toBe("snapshot");
    }
  });
});
