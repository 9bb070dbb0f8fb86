import { errorMessage, isRetriable, type Logger } from "@sbs/shared";
import type { Clock } from "./adapters/clock.ts";
import { FencedError } from "./adapters/sink-state.ts";
import type { Leadership } from "./leader.ts";

/**
 * The sink's passes, one every intervalMs, under leadership. A fatal error (Brevo 401/402/403, a
 * 4xx on an import, process or list call) does not keep the lead: the instance releases it at once
 * (a standby takes over, or this one again later), reports it on /healthz, and either exits
 * non-zero (exitOnFatal: the supervisor restarts it) or stays off the lead for a backoff that
 * doubles per consecutive fatal pass, then tries again. A fenced pass (another instance took the
 * lead) just stands down.
 */
export interface PassHealth {
  status: "starting" | "leading" | "standby" | "fatal";
  epoch: number | undefined;
  lastPassAt: number | undefined;
  /** The last scheduled drift check (verify.ts): contacts sampled and differing from the last push. */
  drift: { at: number; sampled: number; drifted: number } | undefined;
  /** The last fatal error while it is not cleared by a good pass. */
  fatal: { message: string; at: number; retryAt: number | undefined; count: number } | undefined;
}

export interface PassLoopOptions {
  readonly leadership: Leadership;
  readonly runPass: (epoch: number, health: PassHealth) => Promise<void>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly fatalBackoffMs: number;
  readonly fatalBackoffMaxMs: number;
  /** Called instead of backing off, after leadership was released (main.ts exits 1). */
  readonly onFatal?: (error: unknown) => void;
}

export function createPassLoop(opts: PassLoopOptions) {
  const health: PassHealth = {
    status: "starting",
    epoch: undefined,
    lastPassAt: undefined,
    drift: undefined,
    fatal: undefined,
  };
  let offUntil = 0;

  /** One pass; never throws. */
  async function tick(): Promise<void> {
    if (opts.clock.now() < offUntil) return;
    const epoch = await opts.leadership.lead();
    health.epoch = epoch;
    if (epoch === undefined) {
      if (health.status !== "fatal") health.status = "standby";
      return;
    }
    health.status = "leading";
    try {
      await opts.runPass(epoch, health);
      health.lastPassAt = opts.clock.now();
      if (health.fatal !== undefined) opts.logger.info("sync recovered from the fatal error");
      health.fatal = undefined;
    } catch (error) {
      if (error instanceof FencedError) {
        opts.logger.warn({ err: error }, "another instance took the lead during the pass; standing by");
        await opts.leadership.release();
        health.status = "standby";
        return;
      }
      if (isRetriable(error)) {
        opts.logger.warn({ err: error }, "sync pass failed; retrying next pass");
        return;
      }
      // Keep nothing: the lock goes first, so a standby (maybe with a working key or IP) takes over.
      await opts.leadership.release();
      const count = (health.fatal?.count ?? 0) + 1;
      const wait = Math.min(opts.fatalBackoffMaxMs, opts.fatalBackoffMs * 2 ** (count - 1));
      const now = opts.clock.now();
      health.status = "fatal";
      health.epoch = undefined;
      health.fatal = { message: errorMessage(error), at: now, retryAt: opts.onFatal ? undefined : now + wait, count };
      opts.logger.fatal(
        { err: error, alert: "brevo_sink_fatal", retryInMs: opts.onFatal ? undefined : wait },
        "sync stopped: not retriable; leadership released",
      );
      if (opts.onFatal) opts.onFatal(error);
      else offUntil = now + wait;
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const schedule = () => {
    if (!stopped) timer = setTimeout(() => (running = tick().then(schedule)), opts.intervalMs);
  };
  return {
    health: (): Readonly<PassHealth> => health,
    tick,
    start() {
      running = tick().then(schedule);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
