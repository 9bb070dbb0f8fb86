import type { Writer } from "./cli.ts";
import type { Clock } from "./clock.ts";

/**
 * Progress lines on stderr: count, rate, and an ETA when the total is known (Stripe list
 * endpoints return no totals, so backfill shows the elapsed time instead).
 */
export interface Progress {
  /** Counts `n` more items; prints at most once per interval. */
  advance(n?: number): void;
  /** Prints the final line, with an optional suffix (`, 2 skipped`). */
  finish(suffix?: string): void;
  readonly count: number;
}

export interface ProgressOptions {
  readonly label: string;
  readonly clock: Clock;
  readonly write: Writer;
  readonly total?: number;
  /** Counted before this run (a resumed backfill): shown, but not part of the rate. */
  readonly already?: number;
  readonly intervalMs?: number;
}

export function createProgress(opts: ProgressOptions): Progress {
  const started = opts.clock.now();
  const interval = opts.intervalMs ?? 1000;
  let lastPrint = started;
  let count = 0;
  const line = (suffix = "") =>
    `${formatProgress({
      label: opts.label,
      count,
      already: opts.already ?? 0,
      elapsedMs: opts.clock.now() - started,
      ...(opts.total === undefined ? {} : { total: opts.total }),
    })}${suffix}\n`;
  return {
    get count() {
      return count;
    },
    advance(n = 1) {
      count += n;
      const now = opts.clock.now();
      if (now - lastPrint >= interval) {
        lastPrint = now;
        opts.write.write(line());
      }
    },
    finish(suffix) {
      opts.write.write(line(suffix));
    },
  };
}

export interface ProgressSnapshot {
  readonly label: string;
  /** Items done in this run. */
  readonly count: number;
  readonly already?: number;
  readonly total?: number;
  readonly elapsedMs: number;
}

export function formatProgress(p: ProgressSnapshot): string {
  const already = p.already ?? 0;
  const done = already + p.count;
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.count / seconds : 0;
  const counted = p.total === undefined ? `${done}` : `${done}/${p.total}`;
  const resumed = already > 0 ? ` (${already} before resume)` : "";
  let timing = `elapsed ${formatDuration(p.elapsedMs)}`;
  if (p.total !== undefined) {
    const left = Math.max(0, p.total - done);
    timing =
      left === 0
        ? `elapsed ${formatDuration(p.elapsedMs)}`
        : rate > 0
          ? `ETA ${formatDuration((left / rate) * 1000)}`
          : "ETA unknown";
  }
  return `${p.label}: ${counted}${resumed}, ${rate.toFixed(1)}/s, ${timing}`;
}

/** `m:ss`, or `h:mm:ss` from one hour. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
