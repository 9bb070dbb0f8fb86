/**
 * One progress line for long waits. On a terminal it is rewritten in place (`\r`); into a file or
 * a CI log it becomes plain lines, written only when the text changes and at most every
 * `everyMs`, so a log shows progress without thousands of near-identical lines.
 */
export interface Progress {
  update(text: string): void;
  /** Ends the line (a terminal's cursor moves on; a log gets the last text if it was held back). */
  done(text?: string): void;
}

export function createProgress(
  write: (text: string) => void,
  isTTY: boolean,
  everyMs = 5000,
  now: () => number = Date.now,
): Progress {
  let shown: string | undefined;
  let pending: string | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  return {
    update(text) {
      if (isTTY) {
        const pad = shown !== undefined && shown.length > text.length ? " ".repeat(shown.length - text.length) : "";
        write(`\r${text}${pad}`);
        shown = text;
        return;
      }
      if (text === shown) return;
      if (now() - lastAt < everyMs) {
        pending = text;
        return;
      }
      write(`${text}\n`);
      shown = text;
      pending = undefined;
      lastAt = now();
    },
    done(text) {
      if (isTTY) {
        if (text !== undefined) this.update(text);
        if (shown !== undefined) write("\n");
      } else {
        const last = text ?? pending;
        if (last !== undefined && last !== shown) write(`${last}\n`);
      }
      shown = undefined;
      pending = undefined;
    },
  };
}
