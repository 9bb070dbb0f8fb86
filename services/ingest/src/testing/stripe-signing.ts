/**
 * Test support for the domain unit tests (never imported by domain code): Stripe-signed payloads
 * and realistic objects read from the shared fixture file, which stays outside the project.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";

const stripe = new Stripe("sk_test_x");

/** Signs exactly as Stripe does, with the stripe SDK's own helper. `timestamp` in unix seconds. */
export function stripeSignatureHeader(payload: string, secret: string, timestamp: number): string {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}

/** The v1 hex value of a header produced by `stripeSignatureHeader`. */
export function v1Of(header: string): string {
  const match = /v1=([0-9a-f]{64})/.exec(header);
  if (match?.[1] === undefined) throw new Error("no v1 in header");
  return match[1];
}

export const STRIPE_FIXTURES_PATH = fileURLToPath(
  new URL("../../../../../shared/fixtures/stripe/fixtures3.json", import.meta.url),
);
export const hasStripeFixtures = existsSync(STRIPE_FIXTURES_PATH);

let resources: Record<string, unknown> | undefined;

/** A fresh copy of Stripe's example object for one resource (`customer`, `charge`, …). */
export function stripeFixture(resource: string): Record<string, unknown> {
  if (resources === undefined) {
    const file = JSON.parse(readFileSync(STRIPE_FIXTURES_PATH, "utf8")) as { resources: Record<string, unknown> };
    resources = file.resources;
  }
  const value = resources[resource];
  if (typeof value !== "object" || value === null) throw new Error(`no fixture for ${resource}`);
  return structuredClone(value) as Record<string, unknown>;
}

export interface EventInput {
  readonly id?: string;
  readonly type: string;
  readonly object: Record<string, unknown>;
  readonly created?: number;
  readonly livemode?: boolean;
  readonly account?: string;
  readonly apiVersion?: string | null;
  readonly previousAttributes?: Record<string, unknown>;
}

/**
 * A webhook body shaped like Stripe's: key order of a real delivery and pretty-printed with two
 * spaces, as Stripe sends it (so a compact re-serialisation differs byte for byte).
 */
export function stripeEventBody(input: EventInput): string {
  const event = {
    id: input.id ?? "evt_1PgcB4B7WZ01zgkWt4DaqYzK",
    object: "event",
    ...(input.account === undefined ? {} : { account: input.account }),
    api_version: input.apiVersion === undefined ? "2025-03-31.basil" : input.apiVersion,
    created: input.created ?? 1_721_954_059,
    data: {
      object: input.object,
      ...(input.previousAttributes === undefined ? {} : { previous_attributes: input.previousAttributes }),
    },
    livemode: input.livemode ?? false,
    pending_webhooks: 1,
    request: { id: "req_9xDzdVpnLcYnt4", idempotency_key: "0f8e5f8e-6b5e-4c4e-9a56-1c4b8c1d2e3f" },
    type: input.type,
  };
  return JSON.stringify(event, null, 2);
}

/** Minimal but realistic objects for tests that must run without the fixture file. */
export const objects = {
  customer: (): Record<string, unknown> => ({
    id: "cus_QXg1o8vcGmoR32",
    object: "customer",
    created: 1_721_948_530,
    email: "jenny.rosen@example.com",
    livemode: false,
    metadata: { customer_tier: "gold" },
    name: "Jenny Rosen",
  }),
  charge: (customer: unknown): Record<string, unknown> => ({
    id: "ch_3PgafuB7WZ01zgkW0qLxkJ2a",
    object: "charge",
    amount: 2000,
    amount_captured: 2000,
    amount_refunded: 0,
    captured: true,
    created: 1_721_954_050,
    currency: "eur",
    customer,
    livemode: false,
    paid: true,
    status: "succeeded",
  }),
  dispute: (): Record<string, unknown> => ({
    id: "dp_1Pgc71B7WZ01zgkWMevJiAUx",
    object: "dispute",
    amount: 1000,
    charge: "ch_3PgafuB7WZ01zgkW0qLxkJ2a",
    created: 1_721_954_070,
    currency: "eur",
    livemode: false,
    status: "needs_response",
  }),
  upcomingInvoice: (): Record<string, unknown> => ({
    object: "invoice",
    amount_due: 2000,
    currency: "eur",
    customer: "cus_QXg1o8vcGmoR32",
    livemode: false,
    next_payment_attempt: 1_724_632_459,
    status: "draft",
  }),
};
