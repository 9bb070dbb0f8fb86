import { AppError } from "@sbs/shared";
import Stripe from "stripe";
import { describeIssues } from "../domain/envelope.ts";
import { type LineItemsOutcome, lineItemsPageSchema, MAX_LINE_ITEMS } from "../domain/line-items.ts";

/**
 * Reads a checkout session's line items through the project's Stripe client (its rate limiter
 * and 429 backoff apply; the SDK retries connection errors and 5xx). Stripe lists them in the
 * session's order; one page of MAX_LINE_ITEMS (`truncated` if Stripe says there are more).
 *
 * Outcomes: the items; a permanent answer about this session (404 resource_missing: the session
 * is gone or of another account; another 400) as `{ok: false}`, so the event goes out without
 * items; a transient failure (429 after the client's retries, 5xx, network) thrown as a
 * retriable AppError; a key that cannot read sessions (401/403) thrown as not retriable.
 */
export async function fetchLineItems(client: Stripe, sessionId: string): Promise<LineItemsOutcome> {
  let raw: unknown;
  try {
    // One page at Stripe's maximum holds every item Checkout allows (MAX_LINE_ITEMS).
    raw = await client.checkout.sessions.listLineItems(sessionId, { limit: MAX_LINE_ITEMS });
  } catch (error) {
    return classify(error, sessionId);
  }
  const page = lineItemsPageSchema.safeParse(raw);
  if (!page.success) {
    // Not Stripe's contract: a proxy or an API change. Retried, then sent without items.
    throw new AppError("stripe_bad_response", `line items of ${sessionId}: ${describeIssues(page.error)}`, {
      retriable: true,
    });
  }
  return { ok: true, items: page.data.data, truncated: page.data.has_more };
}

function classify(error: unknown, sessionId: string): LineItemsOutcome {
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    throw new AppError("stripe_key_refused", `the Stripe key cannot read checkout sessions: ${error.message}`, {
      retriable: false,
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeInvalidRequestError && error.statusCode !== 429) {
    return { ok: false, error: `${error.statusCode ?? 400} ${error.code ?? "invalid_request"}` };
  }
  throw new AppError("stripe_unavailable", `line items of ${sessionId} could not be read`, {
    retriable: true,
    cause: error,
  });
}
