import type { Logger } from "./logger.ts";

export interface Shutdown {
  /** Registers a step; steps run in reverse order of registration (last started, first stopped). */
  add(name: string, step: () => Promise<void> | void): void;
  /** Runs every step once, each bounded by the overall deadline. Later calls return the same promise. */
  run(reason: string): Promise<void>;
  readonly stopping: boolean;
}

/**
 * One place that stops a service: intake first, then in-flight work, then connections. A second
 * signal or a step that hangs past the deadline does not stop the others from running.
 */
export function createShutdown(logger: Logger, opts: { timeoutMs?: number } = {}): Shutdown {
  const steps: { name: string; step: () => Promise<void> | void }[] = [];
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let running: Promise<void> | undefined;

  const runSteps = async (reason: string) => {
    const deadline = Date.now() + timeoutMs;
    logger.info({ reason }, "shutting down");
    for (const { name, step } of [...steps].reverse()) {
      const remaining = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), remaining);
      });
      try {
        const outcome = await Promise.race([Promise.resolve().then(step), timeout]);
        if (outcome === "timeout") logger.warn({ step: name }, "shutdown step timed out");
      } catch (error) {
        logger.error({ step: name, err: error }, "shutdown step failed");
      } finally {
        clearTimeout(timer);
      }
    }
    logger.info("shutdown complete");
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
  };
}

/** Wires SIGINT/SIGTERM to a shutdown and exits when it is done. */
export function onSignals(shutdown: Shutdown, exit: (code: number) => void = process.exit): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void shutdown.run(signal).then(() => exit(0));
    });
  }
}
