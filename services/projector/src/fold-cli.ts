import { DEFAULT_READ_MODEL_OPTIONS, type ReadModelOptions } from "./domain/derive.ts";
import { type DecodedEvent, decodeEvent } from "./domain/events.ts";
import { foldAsync, readModels } from "./domain/fold.ts";
import { toReadModelRow } from "./domain/read-model.ts";

export interface FoldCounts {
  /** Valid events, including those the read model has no use for (unknown types). */
  readonly folded: number;
  /** Invalid lines, each reported on `err`. */
  readonly skipped: number;
}

const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The offline fold behind `pnpm cli fold <file|->`: one Stripe event (webhook or backfill
 * snapshot) per line in, one JSON read model per customer per line out, sorted by customer id,
 * computed by the same domain code as the projector.
 *
 * An invalid line (not JSON, not an event, a known object with fields of the wrong type) is
 * reported on `err` with its 1-based line number and skipped: one bad line must not hide what the
 * rest of the file says. Blank lines are neither folded nor reported.
 */
export const runFold = async (
  lines: AsyncIterable<string>,
  out: (line: string) => void,
  err: (line: string) => void,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
): Promise<FoldCounts> => {
  let folded = 0;
  let skipped = 0;

  async function* validEvents(): AsyncGenerator<DecodedEvent> {
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch (error) {
        skipped++;
        err(`line ${lineNumber}: invalid JSON: ${errorMessage(error)}`);
        continue;
      }
      const result = decodeEvent(raw);
      if (!result.ok) {
        skipped++;
        err(`line ${lineNumber}: not a valid Stripe event: ${result.reason}`);
        continue;
      }
      folded++;
      yield result.event;
    }
  }

  const state = await foldAsync(validEvents());
  for (const model of readModels(state, options)) out(JSON.stringify(toReadModelRow(model)));
  return { folded, skipped };
};
