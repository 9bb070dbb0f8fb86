import { join } from "node:path";
import { AppError } from "@sbs/shared";
import Stripe from "stripe";
import type { EventLog } from "../adapters/event-log.ts";
import { type AppendRecord, toAppendRecord } from "../domain/record.ts";
import { toDiscountSnapshotEvent, toSnapshotEvent } from "../domain/snapshot.ts";
import {
  type Command,
  type CommandDeps,
  describeError,
  EXIT,
  isoSeconds,
  parseCommandArgs,
  parseDateFlag,
  positiveInt,
  positiveNumber,
  runCommand,
  UsageError,
} from "./cli.ts";
import {
  BACKFILL_RESOURCES,
  type BackfillResource,
  type BackfillState,
  backfillStateSchema,
  type ResourceCursor,
  stateFile,
} from "./cursor-state.ts";
import { createOrderedAppends } from "./ordered-appends.ts";
import { createProgress } from "./progress.ts";
import { DEFAULT_REQUESTS_PER_SECOND } from "./rate-limiter.ts";

export interface BackfillOptions {
  /** `created[gte]`, unix seconds. */
  readonly since: number;
  readonly resources: readonly BackfillResource[];
  readonly statePath: string;
  /** Forget the state file and list everything again. */
  readonly restart: boolean;
  /** Objects per list request (Stripe allows 1–100). */
  readonly pageSize: number;
  /** Appends in flight at once. */
  readonly concurrency: number;
  /** Committed objects between two state file writes. */
  readonly checkpointEvery: number;
}

export type BackfillDeps = Pick<CommandDeps, "stripe" | "topics" | "err" | "clock"> & { readonly eventLog: EventLog };

export interface ResourceOutcome {
  readonly status: "done" | "already-done" | "failed" | "not-started";
  /** Objects appended in this run (the discount snapshots they carry are not counted). */
  readonly appended: number;
  /** Objects that could not become a snapshot (reported on stderr, cursor moves past them). */
  readonly skipped: number;
}

export interface BackfillResult {
  readonly ok: boolean;
  readonly resources: Partial<Record<BackfillResource, ResourceOutcome>>;
  readonly error?: unknown;
}

interface Listed {
  readonly id: string;
  readonly created: number;
}

interface ListParams {
  limit: number;
  created: Stripe.RangeQueryParam;
  starting_after?: string;
}

/**
 * One list call per resource. All seven endpoints accept `created`; subscriptions need
 * `status: "all"` (the default hides canceled ones); charges expand `refunds` (not included
 * since 2022-11-15), whose timestamps feed the snapshot's `created`. Subscriptions expand their
 * discounts (bare ids since 2025-03-31.basil) so the coupons reach the fold; prices expand
 * `tiers`, which Stripe includes only on request, so tiered prices can be priced.
 */
const LIST: Readonly<Record<BackfillResource, (stripe: Stripe, params: ListParams) => AsyncIterable<Listed>>> = {
  customers: (stripe, params) => stripe.customers.list(params),
  subscriptions: (stripe, params) =>
    stripe.subscriptions.list({ ...params, status: "all", expand: SUBSCRIPTION_EXPAND }),
  charges: (stripe, params) => stripe.charges.list({ ...params, expand: ["data.refunds"] }),
  invoices: (stripe, params) => stripe.invoices.list(params),
  disputes: (stripe, params) => stripe.disputes.list(params),
  products: (stripe, params) => stripe.products.list(params),
  prices: (stripe, params) => stripe.prices.list({ ...params, expand: ["data.tiers"] }),
};

/** Stripe expands at most 4 levels deep: `data.items.data.discounts` is exactly 4. */
export const SUBSCRIPTION_EXPAND = ["data.discounts", "data.items.data.discounts"];

/**
 * The discount objects a listed subscription carries (its own and its items', expanded), one per
 * id. Each also becomes a `discount.snapshot`, so a later webhook that names the discount by id
 * only still finds its coupon. A customer's `discount` is always embedded and read from the
 * customer itself, so it needs no snapshot of its own.
 */
export function embeddedDiscounts(object: unknown): Record<string, unknown>[] {
  const found = new Map<string, Record<string, unknown>>();
  const take = (value: unknown) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    const d = value as Record<string, unknown>;
    if (d["object"] === "discount" && typeof d["id"] === "string" && !found.has(d["id"])) found.set(d["id"], d);
  };
  const list = (value: unknown) => (Array.isArray(value) ? value.forEach(take) : undefined);
  if (typeof object !== "object" || object === null) return [];
  const o = object as Record<string, unknown>;
  if (o["object"] !== "subscription") return [];
  take(o["discount"]);
  list(o["discounts"]);
  const items = o["items"];
  if (typeof items === "object" && items !== null) {
    const data = (items as Record<string, unknown>)["data"];
    if (Array.isArray(data)) for (const item of data) list((item as Record<string, unknown> | null)?.["discounts"]);
  }
  return [...found.values()];
}

/**
 * Lists each resource newest first with the SDK's auto-pagination, appends every object as a
 * snapshot event, and keeps a per-resource cursor (the last object whose append, and the append
 * of everything listed before it, was acknowledged). A re-run continues after the cursor with
 * `starting_after`; objects created after the first run started are not listed again, which is
 * fine: webhooks carry them. Never throws for Stripe or Kafka failures: they end the run with
 * the cursor saved and `ok: false`.
 */
export async function runBackfill(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillResult> {
  const file = stateFile(options.statePath, backfillStateSchema);
  const mode = deps.stripe.key.mode;
  const previous = options.restart ? undefined : await file.load();
  if (previous !== undefined) {
    if (previous.mode !== mode) {
      throw new AppError(
        "state_mode_mismatch",
        `the state file ${file.path} belongs to ${previous.mode} mode but the key is a ${mode} key; use another --state`,
      );
    }
    if (previous.since !== options.since) {
      throw new UsageError(
        `--since ${isoSeconds(options.since)} differs from ${isoSeconds(previous.since)} recorded in ${file.path}; ` +
          `pass --since ${isoSeconds(previous.since)} to resume, or --restart to start over`,
      );
    }
  }
  const state: BackfillState = previous ?? {
    kind: "stripe-backfill",
    version: 1,
    mode,
    since: options.since,
    resources: {},
  };
  const apiVersion = deps.stripe.client.getApiField("version") ?? null;
  const outcomes: Partial<Record<BackfillResource, ResourceOutcome>> = {};

  for (const [index, resource] of options.resources.entries()) {
    const cursor: ResourceCursor = state.resources[resource] ?? {
      lastId: null,
      lastCreated: null,
      done: false,
      count: 0,
      updatedAt: new Date(deps.clock.now()).toISOString(),
    };
    state.resources[resource] = cursor;
    if (cursor.done) {
      deps.err.write(
        `${resource}: done in an earlier run (${cursor.count} objects), skipped; --restart to run again\n`,
      );
      outcomes[resource] = { status: "already-done", appended: 0, skipped: 0 };
      continue;
    }
    const outcome = await backfillResource(resource, cursor, { ...options, apiVersion }, deps, () => file.save(state));
    outcomes[resource] = outcome.result;
    if (outcome.error !== undefined) {
      for (const rest of options.resources.slice(index + 1)) {
        outcomes[rest] ??= { status: "not-started", appended: 0, skipped: 0 };
      }
      deps.err.write(
        `${resource}: stopped: ${describeError(outcome.error)}\n` +
          `${resource}: cursor saved in ${file.path} after ${cursor.count} objects; run the same command again to resume\n`,
      );
      return { ok: false, resources: outcomes, error: outcome.error };
    }
  }
  return { ok: true, resources: outcomes };
}

async function backfillResource(
  resource: BackfillResource,
  cursor: ResourceCursor,
  options: BackfillOptions & { readonly apiVersion: string | null },
  deps: BackfillDeps,
  save: () => Promise<void>,
): Promise<{ result: ResourceOutcome; error?: unknown }> {
  const progress = createProgress({ label: resource, clock: deps.clock, write: deps.err, already: cursor.count });
  let appended = 0;
  let skipped = 0;
  let uncheckpointed = 0;
  const appends = createOrderedAppends<Listed>({
    concurrency: options.concurrency,
    onCommit: (item) => {
      cursor.lastId = item.id;
      cursor.lastCreated = item.created;
      cursor.count++;
      cursor.updatedAt = new Date(deps.clock.now()).toISOString();
      uncheckpointed++;
      progress.advance();
    },
  });

  const checkpoint = async () => {
    uncheckpointed = 0;
    await save();
  };

  const consume = async (listing: AsyncIterable<Listed>) => {
    const advancing = createListOrderGuard(resource);
    for await (const object of listing) {
      advancing(object);
      const json = plainJson(object);
      const snapshot = toSnapshotEvent(json, { apiVersion: options.apiVersion });
      const route = (result: typeof snapshot) =>
        result.ok
          ? toAppendRecord(result.event, result.payload, {
              topics: deps.topics,
              receivedAt: deps.clock.now(),
              provenance: { source: "backfill" },
            })
          : undefined;
      const routed = route(snapshot);
      if (routed?.ok === true) {
        const record = routed.record;
        const discountRecords: AppendRecord[] = [];
        for (const discount of embeddedDiscounts(json)) {
          const d = route(
            toDiscountSnapshotEvent(discount, {
              apiVersion: options.apiVersion,
              livemode: snapshot.ok && snapshot.event.livemode,
            }),
          );
          if (d?.ok === true) discountRecords.push(d.record);
          else
            deps.err.write(
              `${resource}: ${object.id}: discount ${String(discount["id"])} skipped: not a valid discount\n`,
            );
        }
        await appends.push(object, async () => {
          // The discounts first: the object counts as committed only once all of it is.
          for (const discountRecord of discountRecords) await deps.eventLog.append(discountRecord);
          await deps.eventLog.append(record);
          appended++;
        });
      } else {
        // Deterministic: retrying would fail the same way, so report it and let the cursor pass.
        skipped++;
        const reason = snapshot.ok ? "no object id to key it by" : snapshot.message;
        deps.err.write(`${resource}: ${object.id} skipped: ${reason}\n`);
        await appends.push(object, async () => undefined);
      }
      if (appends.failure) return;
      if (uncheckpointed >= options.checkpointEvery) await checkpoint();
    }
  };

  let error: unknown;
  const params: ListParams = { limit: options.pageSize, created: { gte: options.since } };
  try {
    if (cursor.lastId === null) {
      await consume(LIST[resource](deps.stripe.client, params));
    } else {
      try {
        await consume(LIST[resource](deps.stripe.client, { ...params, starting_after: cursor.lastId }));
      } catch (listError) {
        if (!isMissingCursor(listError) || cursor.lastCreated === null || progress.count > 0) throw listError;
        // The cursor object was deleted since the last run: continue from its second instead.
        // Objects of that second get appended again; their snapshot ids make that harmless.
        deps.err.write(`${resource}: cursor ${cursor.lastId} no longer exists; resuming from its created time\n`);
        await consume(
          LIST[resource](deps.stripe.client, { ...params, created: { gte: options.since, lte: cursor.lastCreated } }),
        );
      }
    }
  } catch (listError) {
    error = listError;
  }
  try {
    await appends.drain();
  } catch (appendError) {
    error ??= appendError;
  }
  if (error === undefined) cursor.done = true;
  try {
    await checkpoint();
  } catch (saveError) {
    error ??= saveError;
  }
  const suffix = `${skipped > 0 ? `, ${skipped} skipped` : ""}${error === undefined ? ", done" : ", stopped"}`;
  progress.finish(suffix);
  return { result: { status: error === undefined ? "done" : "failed", appended, skipped }, error };
}

/**
 * Stripe lists newest first, so `created` never increases along a listing and no id comes
 * twice. A page that breaks this means the page cursor did not advance (a proxy or a fake that
 * ignores `starting_after`, or a Stripe bug); the SDK's auto-pagination would then loop
 * forever, re-appending the same objects. Throws instead, which stops the resource with its
 * cursor saved. Ids are remembered only within one second of `created`.
 */
export function createListOrderGuard(resource: string): (object: Listed) => void {
  let second: number | null = null;
  const idsOfSecond = new Set<string>();
  return (object) => {
    if (second !== null && object.created > second) {
      throw new AppError(
        "stripe_cursor_not_advancing",
        `${resource}: Stripe listed ${object.id} (created ${isoSeconds(object.created)}) after an object created ` +
          `${isoSeconds(second)}: the page cursor did not advance; stopped instead of listing the same objects again`,
      );
    }
    if (second === null || object.created < second) {
      second = object.created;
      idsOfSecond.clear();
    }
    if (idsOfSecond.has(object.id)) {
      throw new AppError(
        "stripe_cursor_not_advancing",
        `${resource}: Stripe listed ${object.id} twice: the page cursor did not advance; stopped instead of looping`,
      );
    }
    idsOfSecond.add(object.id);
  };
}

/**
 * The object as JSON data. stripe-node (v23) turns `*_decimal` fields into Decimal objects
 * (bigint inside); their toJSON gives back Stripe's string form, normalised ("12.50" → "12.5"),
 * which is what the snapshot hash and payload need.
 */
function plainJson(object: unknown): unknown {
  return JSON.parse(JSON.stringify(object));
}

function isMissingCursor(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.code === "resource_missing" &&
    error.param === "starting_after"
  );
}

const USAGE = `Usage: backfill --since DATE [options]

Lists Stripe objects created since DATE (newest first, auto-paginated) and appends each as a
snapshot event (<object>.snapshot, deterministic id) to the event log. Resumable: the cursor of
each resource is kept in the state file; a finished resource is skipped unless --restart.

Options:
  --since DATE            YYYY-MM-DD (UTC) or ISO 8601 timestamp with zone (required)
  --resources LIST        comma-separated, default all: ${BACKFILL_RESOURCES.join(",")}
  --state PATH            state file (default <state dir>/stripe-backfill.json)
  --restart               ignore the state file and start over
  --rate N                Stripe requests per second (default ${DEFAULT_REQUESTS_PER_SECOND}; test mode allows 25, live 100)
  --page-size N           objects per list request, 1-100 (default 100)
  --concurrency N         appends in flight (default 16)
  -h, --help              show this help
`;

export function parseResources(flag: string, value: string | undefined): BackfillResource[] {
  if (value === undefined) return [...BACKFILL_RESOURCES];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) throw new UsageError(`${flag}: expected at least one of ${BACKFILL_RESOURCES.join(",")}`);
  const resources: BackfillResource[] = [];
  for (const name of names) {
    const resource = BACKFILL_RESOURCES.find((r) => r === name);
    if (resource === undefined) {
      throw new UsageError(
        `${flag}: unknown resource ${JSON.stringify(name)}; expected a comma-separated list of ${BACKFILL_RESOURCES.join(",")}`,
      );
    }
    if (!resources.includes(resource)) resources.push(resource);
  }
  return resources;
}

export const backfillCommand: Command = {
  summary: "List Stripe objects since a date and append them as snapshot events (resumable)",
  usage: USAGE,
  run: (argv, deps) =>
    runCommand(USAGE, deps, async () => {
      const values = parseCommandArgs(
        argv,
        {
          since: { type: "string" },
          resources: { type: "string" },
          state: { type: "string" },
          restart: { type: "boolean" },
          rate: { type: "string" },
          "page-size": { type: "string" },
          concurrency: { type: "string" },
          "checkpoint-every": { type: "string" },
        },
        USAGE,
        deps.out,
      );
      if (values === undefined) return EXIT.ok;
      if (values.since === undefined) throw new UsageError("--since is required (YYYY-MM-DD or ISO 8601 timestamp)");
      const since = parseDateFlag("--since", values.since);
      if (since * 1000 > deps.clock.now()) throw new UsageError(`--since ${values.since} is in the future`);
      const options: BackfillOptions = {
        since,
        resources: parseResources("--resources", values.resources),
        statePath: values.state ?? join(deps.stateDir, "stripe-backfill.json"),
        restart: values.restart === true,
        pageSize: positiveInt("--page-size", values["page-size"], 100, 100),
        concurrency: positiveInt("--concurrency", values.concurrency, 16, 1000),
        checkpointEvery: positiveInt("--checkpoint-every", values["checkpoint-every"], 100),
      };
      deps.stripe.limiter.setRate(positiveNumber("--rate", values.rate, deps.stripe.limiter.requestsPerSecond));
      const eventLog = await deps.openEventLog();
      deps.err.write(
        `backfill since ${isoSeconds(since)} (${deps.stripe.key.mode} mode): ${options.resources.join(", ")}; ` +
          `${deps.stripe.limiter.requestsPerSecond} req/s; state ${options.statePath}\n`,
      );
      const result = await runBackfill(options, { ...deps, eventLog });
      const summary = Object.entries(result.resources)
        .map(([name, o]) => `${name}=${o.appended}${o.skipped > 0 ? `(+${o.skipped} skipped)` : ""}:${o.status}`)
        .join(" ");
      deps.out.write(`backfill ${result.ok ? "complete" : "incomplete"}: ${summary}\n`);
      return result.ok ? EXIT.ok : EXIT.failure;
    }),
};
