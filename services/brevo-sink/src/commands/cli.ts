import { type ParseArgsConfig, parseArgs } from "node:util";
import { AppError, errorMessage } from "@sbs/shared";

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface Writer {
  write(text: string): unknown;
}

export interface CommandDeps {
  readonly env: Record<string, string | undefined>;
  readonly out: Writer;
  readonly err: Writer;
}

export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(argv: readonly string[], deps: CommandDeps): Promise<ExitCode>;
}

/** Parses flags (strict) and maps what the body throws to an exit code with a one-line reason. */
export async function runCommand(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  usage: string,
  deps: CommandDeps,
  body: (values: Record<string, string | boolean | undefined>) => Promise<ExitCode>,
): Promise<ExitCode> {
  if (argv.includes("--help") || argv.includes("-h")) {
    deps.out.write(`${usage.trimEnd()}\n`);
    return EXIT.ok;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (error) {
    deps.err.write(`error: ${errorMessage(error)}\n\n${usage.trimEnd()}\n`);
    return EXIT.usage;
  }
  try {
    return await body(values);
  } catch (error) {
    deps.err.write(`error: ${error instanceof AppError ? `${error.message} (${error.code})` : errorMessage(error)}\n`);
    return EXIT.failure;
  }
}
