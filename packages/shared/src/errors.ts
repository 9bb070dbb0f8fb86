/**
 * The one error type of the project. `code` is stable and machine-readable, `retriable` tells a
 * consumer whether to block and retry (transient) or to give up on the input (deterministic).
 * Expected outcomes, such as a bad webhook signature, are result values, not AppErrors.
 */
export class AppError extends Error {
  override readonly name = "AppError";
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retriable = opts.retriable ?? false;
  }
}

/** Unknown errors are treated as transient: retrying a deterministic failure wastes time, dropping data loses it. */
export function isRetriable(error: unknown): boolean {
  return error instanceof AppError ? error.retriable : true;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
