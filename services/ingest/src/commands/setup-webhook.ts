import { randomUUID } from "node:crypto";
import type Stripe from "stripe";
import { type Command, type CommandDeps, EXIT, parseCommandArgs, runCommand, UsageError } from "./cli.ts";
import { PINNED_API_VERSION, PROJECTOR_EVENT_TYPES } from "./event-types.ts";

export interface SetupWebhookOptions {
  readonly url: string;
  readonly apiVersion: string;
  readonly description?: string;
  /** Create even if an endpoint with this URL exists (it would get every event twice). */
  readonly allowDuplicate: boolean;
}

export type SetupWebhookResult =
  | { readonly ok: true; readonly endpoint: Stripe.WebhookEndpoint; readonly secret: string }
  | { readonly ok: false; readonly reason: "duplicate"; readonly existing: readonly string[] };

export async function setupWebhook(
  options: SetupWebhookOptions,
  deps: Pick<CommandDeps, "stripe">,
): Promise<SetupWebhookResult> {
  const stripe = deps.stripe.client;
  if (!options.allowDuplicate) {
    const existing: string[] = [];
    for await (const endpoint of stripe.webhookEndpoints.list({ limit: 100 })) {
      if (endpoint.url === options.url) existing.push(endpoint.id);
    }
    if (existing.length > 0) return { ok: false, reason: "duplicate", existing };
  }
  const endpoint = await stripe.webhookEndpoints.create(
    {
      url: options.url,
      enabled_events: [...PROJECTOR_EVENT_TYPES],
      // The SDK's type lists only its own version; the API takes any published one.
      api_version: options.apiVersion as Stripe.WebhookEndpointCreateParams.ApiVersion,
      description: options.description ?? "sbs ingest: events the customer projector reads",
      metadata: { created_by: "sbs-ingest setup-webhook" },
    },
    // One key for every attempt: a retried create never makes a second endpoint.
    { idempotencyKey: `sbs-setup-webhook-${randomUUID()}` },
  );
  const secret = endpoint.secret;
  if (secret === undefined || secret === "") {
    throw new Error(`Stripe created ${endpoint.id} but returned no signing secret; roll it in the Dashboard`);
  }
  return { ok: true, endpoint, secret };
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

const USAGE = `Usage: setup-webhook --url URL [options]

Creates the Stripe webhook endpoint with the ${PROJECTOR_EVENT_TYPES.length} event types the projector reads and a
pinned API version, then prints its signing secret on stdout (Stripe shows it only once).

Options:
  --url URL               public HTTPS URL of POST /webhooks/stripe (required)
  --api-version V         API version events are rendered at (default ${PINNED_API_VERSION})
  --description TEXT      endpoint description
  --allow-duplicate       create even if an endpoint with this URL already exists
  -h, --help              show this help
`;

export const setupWebhookCommand: Command = {
  summary: "Create the Stripe webhook endpoint and print its signing secret",
  usage: USAGE,
  run: (argv, deps) =>
    runCommand(USAGE, deps, async () => {
      const values = parseCommandArgs(
        argv,
        {
          url: { type: "string" },
          "api-version": { type: "string" },
          description: { type: "string" },
          "allow-duplicate": { type: "boolean" },
        },
        USAGE,
        deps.out,
      );
      if (values === undefined) return EXIT.ok;
      if (values.url === undefined) throw new UsageError("--url is required (https://…/webhooks/stripe)");
      let url: URL;
      try {
        url = new URL(values.url);
      } catch {
        throw new UsageError(`--url: expected an absolute http(s) URL, got ${JSON.stringify(values.url)}`);
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new UsageError(`--url: expected an http(s) URL, got ${JSON.stringify(values.url)}`);
      }
      const apiVersion = values["api-version"] ?? PINNED_API_VERSION;
      if (!API_VERSION.test(apiVersion)) {
        throw new UsageError(
          `--api-version: expected YYYY-MM-DD or YYYY-MM-DD.name (e.g. ${PINNED_API_VERSION}), got ${JSON.stringify(apiVersion)}`,
        );
      }
      if (url.protocol === "http:") deps.err.write("warning: Stripe accepts only https endpoints in live mode\n");
      const result = await setupWebhook(
        {
          url: values.url,
          apiVersion,
          allowDuplicate: values["allow-duplicate"] === true,
          ...(values.description === undefined ? {} : { description: values.description }),
        },
        deps,
      );
      if (!result.ok) {
        deps.err.write(
          `error: an endpoint for ${values.url} already exists (${result.existing.join(", ")}); its secret can only be ` +
            "revealed or rolled in the Dashboard. Pass --allow-duplicate to create another one anyway.\n",
        );
        return EXIT.failure;
      }
      deps.err.write(
        `created webhook endpoint ${result.endpoint.id} (${deps.stripe.key.mode} mode) for ${result.endpoint.url}, ` +
          `api version ${apiVersion}, ${PROJECTOR_EVENT_TYPES.length} event types\n` +
          "warning: the signing secret below is shown only now. Store it in STRIPE_WEBHOOK_SECRETS (secret store, " +
          "not a file in the repository); anyone holding it can forge webhooks.\n",
      );
      deps.out.write(`${result.secret}\n`);
      return EXIT.ok;
    }),
};
