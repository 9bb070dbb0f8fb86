import Stripe from "stripe";
import {
  type Command,
  type CommandDeps,
  describeError,
  describeStripeError,
  EXIT,
  parseCommandArgs,
  runCommand,
} from "./cli.ts";

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

interface Check {
  readonly name: string;
  /** What the pipeline uses it for, shown on success. */
  readonly use: string;
  readonly run: (stripe: Stripe) => Promise<unknown>;
}

/**
 * Why an answer the SDK accepted is not one Stripe gives, or null when it is: a status outside
 * 2xx (the SDK only raises errors for bodies with an `error` key, so a proxy's bare 500 came
 * back as a result), or a body that is not the object asked for.
 */
export function malformedAnswer(result: unknown, expected: "list" | "account"): string | null {
  const r = typeof result === "object" && result !== null ? (result as Record<string, unknown>) : null;
  const status = (r?.["lastResponse"] as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === "number" && (status < 200 || status > 299)) {
    return `HTTP ${status} without a Stripe error: not Stripe's API (check STRIPE_API_BASE or a proxy)`;
  }
  const wellFormed =
    expected === "list"
      ? r?.["object"] === "list" && Array.isArray(r["data"])
      : r?.["object"] === "account" && typeof r["id"] === "string";
  return wellFormed
    ? null
    : `malformed answer: expected a Stripe ${expected} object (check STRIPE_API_BASE or a proxy)`;
}

/** One read per resource the pipeline reads; a restricted key answers 403 where it lacks permission. */
const PERMISSION_CHECKS: readonly Check[] = [
  { name: "customers", use: "backfill", run: (s) => s.customers.list({ limit: 1 }) },
  { name: "charges", use: "backfill", run: (s) => s.charges.list({ limit: 1 }) },
  { name: "subscriptions", use: "backfill", run: (s) => s.subscriptions.list({ limit: 1, status: "all" }) },
  { name: "invoices", use: "backfill", run: (s) => s.invoices.list({ limit: 1 }) },
  { name: "disputes", use: "backfill", run: (s) => s.disputes.list({ limit: 1 }) },
  { name: "products", use: "backfill", run: (s) => s.products.list({ limit: 1 }) },
  { name: "prices", use: "backfill", run: (s) => s.prices.list({ limit: 1 }) },
  { name: "events", use: "catch-up", run: (s) => s.events.list({ limit: 1 }) },
];

export async function testConnection(deps: Pick<CommandDeps, "stripe" | "out">): Promise<readonly CheckResult[]> {
  const { client, key } = deps.stripe;
  const results: CheckResult[] = [];
  const report = (result: CheckResult) => {
    results.push(result);
    deps.out.write(`${result.ok ? "✓" : "✗"} ${result.name.padEnd(14)} ${result.detail}\n`);
  };
  deps.out.write(`key ${key.prefix}… (${key.mode} mode${key.restricted ? ", restricted" : ""})\n`);

  let keyAccepted = true;
  try {
    const account = await client.accounts.retrieveCurrent();
    const malformed = malformedAnswer(account, "account");
    if (malformed !== null) {
      report({ name: "key", ok: false, detail: malformed });
    } else {
      const name = account.settings?.dashboard?.display_name ?? account.business_profile?.name;
      report({ name: "key", ok: true, detail: `accepted: account ${account.id}${name ? ` (${name})` : ""}` });
    }
  } catch (error) {
    if (error instanceof Stripe.errors.StripePermissionError) {
      // Authenticated, just not allowed to read the account: the key itself is fine.
      report({ name: "key", ok: true, detail: "accepted (this restricted key cannot read account details)" });
    } else {
      keyAccepted = !(error instanceof Stripe.errors.StripeAuthenticationError);
      report({ name: "key", ok: false, detail: describeError(error) });
    }
  }
  for (const check of PERMISSION_CHECKS) {
    if (!keyAccepted) {
      report({ name: check.name, ok: false, detail: "not checked: the key was rejected" });
      continue;
    }
    try {
      const malformed = malformedAnswer(await check.run(client), "list");
      report(
        malformed === null
          ? { name: check.name, ok: true, detail: `read (${check.use})` }
          : { name: check.name, ok: false, detail: malformed },
      );
    } catch (error) {
      const detail = error instanceof Stripe.errors.StripeError ? describeStripeError(error) : describeError(error);
      report({ name: check.name, ok: false, detail });
    }
  }
  return results;
}

const USAGE = `Usage: test-connection

Checks the Stripe key and every read permission the pipeline needs (one line per check).
Exits 1 if any check failed. The key itself is never printed, only its prefix and mode.

Options:
  -h, --help   show this help
`;

export const testConnectionCommand: Command = {
  summary: "Check the Stripe key and each permission the pipeline needs",
  usage: USAGE,
  run: (argv, deps) =>
    runCommand(USAGE, deps, async () => {
      const values = parseCommandArgs(argv, {}, USAGE, deps.out);
      if (values === undefined) return EXIT.ok;
      const results = await testConnection(deps);
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) deps.err.write(`${failed} of ${results.length} checks failed\n`);
      return failed > 0 ? EXIT.failure : EXIT.ok;
    }),
};
