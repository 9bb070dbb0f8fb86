import { join } from "node:path";
import { AppError } from "@sbs/shared";
import type Stripe from "stripe";
import type { EventLog } from "../adapters/event-log.ts";
import { parseStripeEvent } from "../domain/envelope.ts";
import { type AppendRecord, toAppendRecord } from "../domain/record.ts";
import {
  type Command,
  type CommandDeps,
  describeError,
  EXIT,
  isoSeconds,
  nonNegativeInt,
  parseCommandArgs,
  positiveInt,
  positiveNumber,
  runCommand,
  UsageError,
} from "./cli.ts";
import { type CatchUpState, catchUpStateSchema, stateFile } from "./cursor-state.ts";
import { chunk, MAX_TYPES_PER_EVENTS_REQUEST, PROJECTOR_EVENT_TYPES } from "./event-types.ts";
import { createOrderedAppends } from "./ordered-appends.ts";
import { createProgress } from "./progress.ts";

/** `GET /v1/events` returns the last 30 days only. */
export const EVENT_RETENTION_SECONDS = 30 * 24 * 3600;

export interface CatchUpOptions {
  readonly statePath: string;
  /** `false` lists only events whose delivery to at least one endpoint failed. */
  readonly deliverySuccess?: false;
  /** List every event type instead of the projector's (more requests' worth of data, same log). */
  readonly allTypes: boolean;
  /**
   * Seconds re-read before the cursor. `created` is in whole seconds and many events share one,
   * so an event created later in the second of the newest one seen would otherwise be skipped
   * for good; re-appending is harmless (downstream dedupes by event id).
   */
  readonly overlapSeconds: number;
  readonly concurrency: number;
  readonly pageSize: number;
}

export type CatchUpDeps = Pick<CommandDeps, "stripe" | "topics" | "err" | "clock"> & { readonly eventLog: EventLog };

export interface CatchUpResult {
  readonly ok: boolean;
  readonly fetched: number;
  readonly appended: number;
  /** Events without an object id (invoice.upcoming…) or not a valid envelope. */
  readonly skipped: number;
  /** The `created[gt]` sent to Stripe; undefined when the whole 30 days were read. */
  readonly requestedCreatedGt: number | undefined;
  readonly cursor: number | undefined;
  readonly error?: unknown;
}

interface Fetched {
  readonly event: Stripe.Event;
  readonly index: number;
}

/**
 * Reads `/v1/events` since the cursor (or the whole 30 days), newest first as Stripe returns
 * them, then appends them oldest first with provenance `catch-up`. The cursor moves to the
 * newest `created` whose events were all acknowledged; after a failure, to just before the
 * second of the first unacknowledged event.
 */
export async function runCatchUp(options: CatchUpOptions, deps: CatchUpDeps): Promise<CatchUpResult> {
  const file = stateFile(options.statePath, catchUpStateSchema);
  const mode = deps.stripe.key.mode;
  const state = await file.load();
  if (state !== undefined && state.mode !== mode) {
    throw new AppError(
      "state_mode_mismatch",
      `the state file ${file.path} belongs to ${state.mode} mode but the key is a ${mode} key; use another --state`,
    );
  }
  const nowSeconds = Math.floor(deps.clock.now() / 1000);
  const requestedCreatedGt = state === undefined ? undefined : Math.max(0, state.createdGt - options.overlapSeconds);
  if (state !== undefined && state.createdGt < nowSeconds - EVENT_RETENTION_SECONDS) {
    deps.err.write(
      `warning: the cursor (${isoSeconds(state.createdGt)}) is older than Stripe's 30-day event retention; ` +
        `events before ${isoSeconds(nowSeconds - EVENT_RETENTION_SECONDS)} are gone: run backfill to cover the gap\n`,
    );
  }

  const fetching = createProgress({ label: "events fetched", clock: deps.clock, write: deps.err });
  const typeGroups = options.allTypes ? [undefined] : chunk(PROJECTOR_EVENT_TYPES, MAX_TYPES_PER_EVENTS_REQUEST);
  const fetched: Fetched[] = [];
  const seen = new Set<string>();
  try {
    for (const types of typeGroups) {
      const params: Stripe.EventListParams = {
        limit: options.pageSize,
        ...(requestedCreatedGt === undefined ? {} : { created: { gt: requestedCreatedGt } }),
        ...(options.deliverySuccess === false ? { delivery_success: false } : {}),
        ...(types === undefined ? {} : { types: [...types] }),
      };
      const group: Stripe.Event[] = [];
      const inGroup = new Set<string>();
      for await (const event of deps.stripe.client.events.list(params)) {
        // Twice in one listing: the page cursor did not advance, and auto-pagination would loop.
        if (inGroup.has(event.id)) {
          throw new AppError(
            "stripe_cursor_not_advancing",
            `Stripe listed event ${event.id} twice: the page cursor did not advance; stopped instead of looping`,
          );
        }
        inGroup.add(event.id);
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        group.push(event);
        fetching.advance();
      }
      // Each group is newest first; reversed it is oldest first, which the stable sort keeps for ties.
      for (const event of group.reverse()) fetched.push({ event, index: fetched.length });
    }
  } catch (error) {
    fetching.finish(", stopped");
    deps.err.write(`catch-up: listing events failed: ${describeError(error)}; nothing appended, cursor unchanged\n`);
    return {
      ok: false,
      fetched: fetched.length,
      appended: 0,
      skipped: 0,
      requestedCreatedGt,
      cursor: state?.createdGt,
      error,
    };
  }
  fetching.finish();
  fetched.sort((a, b) => a.event.created - b.event.created || a.index - b.index);
  const events = fetched.map((f) => f.event);

  const appending = createProgress({
    label: "events appended",
    clock: deps.clock,
    write: deps.err,
    total: events.length,
  });
  let committed = 0;
  let appended = 0;
  let skipped = 0;
  const appends = createOrderedAppends<number>({
    concurrency: options.concurrency,
    onCommit: () => {
      committed++;
      appending.advance();
    },
  });
  for (const [index, event] of events.entries()) {
    const record = toRecord(event, deps);
    if (typeof record === "string") {
      skipped++;
      deps.err.write(`catch-up: ${event.id} (${event.type}) skipped: ${record}\n`);
      await appends.push(index, async () => undefined);
    } else {
      await appends.push(index, async () => {
        await deps.eventLog.append(record);
        appended++;
      });
    }
    if (appends.failure) break;
  }
  let error: unknown;
  try {
    await appends.drain();
  } catch (appendError) {
    error = appendError;
  }

  // Events are in created order and `committed` is a prefix of them, so every event created
  // before the first uncommitted one's second is in the log.
  const firstPending = events[committed];
  const reached =
    firstPending === undefined ? events.at(-1)?.created : committed > 0 ? firstPending.created - 1 : undefined;
  const cursor = Math.max(state?.createdGt ?? 0, reached ?? 0);
  const advanced = reached !== undefined && cursor !== state?.createdGt;
  if (advanced) {
    const next: CatchUpState = {
      kind: "stripe-catch-up",
      version: 1,
      mode,
      createdGt: cursor,
      updatedAt: new Date(deps.clock.now()).toISOString(),
    };
    try {
      await file.save(next);
    } catch (saveError) {
      error ??= saveError;
    }
  }
  appending.finish(error === undefined ? "" : ", stopped");
  if (error !== undefined) deps.err.write(`catch-up: stopped: ${describeError(error)}\n`);
  return {
    ok: error === undefined,
    fetched: events.length,
    appended,
    skipped,
    requestedCreatedGt,
    cursor: advanced ? cursor : state?.createdGt,
    ...(error === undefined ? {} : { error }),
  };
}

/** The append record, or why the event cannot be appended. */
function toRecord(event: Stripe.Event, deps: Pick<CatchUpDeps, "topics" | "clock">): AppendRecord | string {
  const parsed = parseStripeEvent(Buffer.from(JSON.stringify(event), "utf8"));
  if (!parsed.ok) return parsed.reason === "invalid_envelope" ? `invalid envelope: ${parsed.message}` : parsed.reason;
  if (parsed.kind === "unkeyed") return "no data.object.id to key it by";
  const routed = toAppendRecord(parsed.event, parsed.payload, {
    topics: deps.topics,
    receivedAt: deps.clock.now(),
    provenance: { source: "catch-up" },
  });
  return routed.ok ? routed.record : "no data.object.id to key it by";
}

const USAGE = `Usage: catch-up [options]

Reads Stripe's /v1/events (the last 30 days, or since the cursor in the state file), oldest
first, and appends each event to the event log with source "catch-up". Re-appending an event
already in the log is harmless: consumers dedupe by event id.

Options:
  --delivery-success false  only events whose webhook delivery failed (delivery_success=false)
  --all-types               every event type, not only the ${PROJECTOR_EVENT_TYPES.length} the projector reads
  --state PATH              state file (default <state dir>/stripe-catch-up.json)
  --overlap SECONDS         re-read this much before the cursor (default 60)
  --rate N                  Stripe requests per second
  --concurrency N           appends in flight (default 16)
  -h, --help                show this help
`;

export const catchUpCommand: Command = {
  summary: "Append the events of the last 30 days (or since the last catch-up) from /v1/events",
  usage: USAGE,
  run: (argv, deps) =>
    runCommand(USAGE, deps, async () => {
      const values = parseCommandArgs(
        argv,
        {
          "delivery-success": { type: "string" },
          "all-types": { type: "boolean" },
          state: { type: "string" },
          overlap: { type: "string" },
          rate: { type: "string" },
          concurrency: { type: "string" },
          "page-size": { type: "string" },
        },
        USAGE,
        deps.out,
      );
      if (values === undefined) return EXIT.ok;
      const deliverySuccess = values["delivery-success"];
      if (deliverySuccess !== undefined && deliverySuccess !== "false") {
        throw new UsageError(
          `--delivery-success: only "false" is supported (events whose delivery failed), got ${JSON.stringify(deliverySuccess)}`,
        );
      }
      const options: CatchUpOptions = {
        statePath: values.state ?? join(deps.stateDir, "stripe-catch-up.json"),
        allTypes: values["all-types"] === true,
        overlapSeconds: nonNegativeInt("--overlap", values.overlap, 60),
        concurrency: positiveInt("--concurrency", values.concurrency, 16, 1000),
        pageSize: positiveInt("--page-size", values["page-size"], 100, 100),
        ...(deliverySuccess === "false" ? { deliverySuccess: false } : {}),
      };
      deps.stripe.limiter.setRate(positiveNumber("--rate", values.rate, deps.stripe.limiter.requestsPerSecond));
      const eventLog = await deps.openEventLog();
      const result = await runCatchUp(options, { ...deps, eventLog });
      const from = result.requestedCreatedGt === undefined ? "last 30 days" : `created > ${result.requestedCreatedGt}`;
      const cursor = result.cursor === undefined ? "none" : `created > ${result.cursor}`;
      deps.out.write(
        `catch-up ${result.ok ? "complete" : "incomplete"}: ${result.fetched} events (${from}), ` +
          `${result.appended} appended, ${result.skipped} skipped; cursor ${cursor}\n`,
      );
      return result.ok ? EXIT.ok : EXIT.failure;
    }),
};
