/** The shape of the projector's operator commands (the CLI package dispatches to them). */

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
  run(argv: readonly string[], deps: CommandDeps): Promise<number>;
}
