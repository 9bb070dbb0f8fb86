import type { Logger } from "./logger.ts";

/** How a shutdown went: `clean` is false when a step timed out or threw (the exit code says so). */
export interface ShutdownOutcome {
  clean: boolean;
  timedOut: string[];
  failed: string[];
}

export interface Shutdown {
  /** Registers a step; steps run in reverse order of registration (last started, first stopped). */
  add(name: string, step: () => Promise<void> | void): void;
  /** Runs every step once, each bounded by the overall deadline. Later calls return the same promise. */
  run(reason: string): Promise<ShutdownOutcome>;
  readonly stopping: boolean;
  readonly timeoutMs: number;
}

/**
 * One place that stops a service: intake first, then in-flight work, then connections. A step
 * that hangs past the deadline or throws does not stop the others from running; it makes the
 * outcome unclean.
 */
export function createShutdown(logger: Logger, opts: { timeoutMs?: number } = {}): Shutdown {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let running: Promise<ShutdownOutcome> | undefined;

  const runSteps = async (reason: string): Promise<ShutdownOutcome> => {
    const deadline = Date.now() + timeoutMs;
    const timedOut: string[] = [];
    const failed: string[] = [];
    logger.info({ reason }, "shutting down");
    for (const { name, step } of [...steps].reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), remaining);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(step), timeout]);
        if (outcome === "timeout") {
          timedOut.push(name);
          logger.warn({ step: name }, "shutdown step timed out");
        }
      } catch (error) {
        failed.push(name);
        logger.error({ step: name, err: error }, "shutdown step failed");
      } finally {
        clearTimeout(timer);
      }
    }
    const clean = timedOut.length === 0 && failed.length === 0;
    if (clean) logger.info("shutdown complete");
    else logger.warn({ timedOut, failed }, "shutdown finished with steps that did not complete");
    return { clean, timedOut, failed };
  };

  return {
    add(name, step) {
      steps.push({ name, step });
    },
    run(reason) {
      running ??= runSteps(reason);
      return running;
    },
    get stopping() {
      return running !== undefined;
    },
    timeoutMs,
  };
}

/** Exit codes: 0 clean; 1 a step timed out or failed, or the shutdown itself overran its deadline. */
export const EXIT_CLEAN = 0;
export const EXIT_UNCLEAN = 1;

/**
 * Wires SIGINT/SIGTERM to a shutdown and exits when it is done. The handlers stay installed: a
 * second signal (an impatient supervisor, Ctrl-C twice) is logged and the shutdown carries on,
 * instead of Node's default action killing the process mid-flush (exit 143). Should the steps
 * overrun their deadline anyway, the process exits non-zero shortly after it.
 */
export function onSignals(
  shutdown: Shutdown,
  logger?: Logger,
  exit: (code: number) => void = process.exit,
  proc: Pick<NodeJS.Process, "on"> = process,
): void {
  let signals = 0;
  const handle = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger?.warn({ signal, received: signals }, "already shutting down; waiting for in-flight work to finish");
      return;
    }
    const escalation = setTimeout(() => {
      logger?.error({ timeoutMs: shutdown.timeoutMs }, "shutdown overran its deadline; exiting");
      exit(EXIT_UNCLEAN);
    }, shutdown.timeoutMs + 2000);
    escalation.unref();
    void shutdown.run(signal).then((outcome) => {
      clearTimeout(escalation);
      exit(outcome.clean ? EXIT_CLEAN : EXIT_UNCLEAN);
    });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) proc.on(signal, handle);
}
