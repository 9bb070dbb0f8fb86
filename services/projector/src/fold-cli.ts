import { DEFAULT_READ_MODEL_OPTIONS, type ReadModelOptions } from "./domain/derive.ts";
import { type DecodedEvent, decodeEvent } from "./domain/events.ts";
import { foldAsync, readModels } from "./domain/fold.ts";
import { collectHistory, monthlyRowsOf } from "./domain/history-of.ts";
import { monthLabel, parseMonth } from "./domain/movements.ts";
import type { HistoryState } from "./domain/subscription-history.ts";

export { monthIndexOf } from "./domain/movements.ts";

import {
  CHARTMOGUL_MRR_RULES,
  type MrrRules,
  PADDLE_MRR_RULES,
  PROFITWELL_MRR_RULES,
  STRIPE_MRR_RULES,
} from "./domain/mrr.ts";
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
 *
 * With `history`, it prints the monthly MRR rows instead (as the `mrr_monthly` view shows them),
 * carried forward through `history.until` (a month index, see movements.ts).
 */
export const runFold = async (
  lines: AsyncIterable<string>,
  out: (line: string) => void,
  err: (line: string) => void,
  options: ReadModelOptions = DEFAULT_READ_MODEL_OPTIONS,
  history?: { readonly until: number },
): Promise<FoldCounts> => {
  let folded = 0;
  let skipped = 0;
  const snapshots: HistoryState = new Map();

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
      if (history) collectHistory([result.event], snapshots);
      yield result.event;
    }
  }

  const state = await foldAsync(validEvents());
  if (history) {
    for (const row of monthlyRowsOf(state, snapshots, options, history.until)) out(JSON.stringify(row));
  } else for (const model of readModels(state, options)) out(JSON.stringify(toReadModelRow(model)));
  return { folded, skipped };
};

/** The MRR definitions `--mrr-rules` (and the projector's MRR_RULES) can name. */
export const MRR_RULES_BY_NAME: Readonly<Record<string, MrrRules>> = {
  stripe: STRIPE_MRR_RULES,
  chartmogul: CHARTMOGUL_MRR_RULES,
  paddle: PADDLE_MRR_RULES,
  profitwell: PROFITWELL_MRR_RULES,
};

export const FOLD_USAGE = `usage: pnpm cli fold <events.ndjson | -> [--strict] [--mrr-rules <${Object.keys(MRR_RULES_BY_NAME).join("|")}>] [--history [--until YYYY-MM]]

Folds Stripe events (one JSON event per line; "-" reads stdin) with the projector's domain code and
prints one JSON read model per customer per line, sorted by customer_id. Invalid lines are reported
on stderr with their line number and skipped. --strict exits 1 when any line was skipped.
--mrr-rules picks the MRR definition, as the projector's MRR_RULES does (default stripe).
--history prints the monthly MRR rows instead, one JSON object per customer, currency and month
(the columns of the mrr_monthly view), with the last MRR carried forward through --until (default:
the current UTC month).`;

export type FoldArgs =
  | {
      readonly ok: true;
      readonly path: string;
      readonly strict: boolean;
      readonly options: ReadModelOptions;
      /** `--history`: print monthly MRR rows; `until` null means the current month. */
      readonly history: { readonly until: number | null } | null;
    }
  | { readonly ok: false; readonly error: string };

/** `fold` arguments: one file (or -), `--strict`, `--mrr-rules NAME` / `--mrr-rules=NAME`. */
export const parseFoldArgs = (argv: readonly string[]): FoldArgs => {
  let strict = false;
  let rules = "stripe";
  let history = false;
  let until: number | null = null;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--strict") strict = true;
    else if (arg === "--history") history = true;
    else if (arg === "--until" || arg.startsWith("--until=")) {
      const value = arg === "--until" ? argv[++i] : arg.slice("--until=".length);
      const month = value === undefined ? null : parseMonth(value);
      if (month === null)
        return { ok: false, error: `--until: expected a month YYYY-MM, got ${JSON.stringify(value ?? null)}` };
      until = month;
    } else if (arg === "--mrr-rules" || arg.startsWith("--mrr-rules=")) {
      const value = arg === "--mrr-rules" ? argv[++i] : arg.slice("--mrr-rules=".length);
      if (value === undefined || !(value in MRR_RULES_BY_NAME)) {
        return {
          ok: false,
          error: `--mrr-rules: expected one of ${Object.keys(MRR_RULES_BY_NAME).join(", ")}, got ${value === undefined ? "nothing" : JSON.stringify(value)}`,
        };
      }
      rules = value;
    } else if (arg.startsWith("--")) return { ok: false, error: `unknown option ${arg}` };
    else files.push(arg);
  }
  const [path] = files;
  if (files.length !== 1 || path === undefined) return { ok: false, error: "expected exactly one input file or -" };
  if (until !== null && !history)
    return { ok: false, error: `--until ${monthLabel(until).slice(0, 7)} needs --history` };
  return {
    ok: true,
    path,
    strict,
    options: { mrr: MRR_RULES_BY_NAME[rules] ?? STRIPE_MRR_RULES },
    history: history ? { until } : null,
  };
};
