import { parseChaosArgs, USAGE } from "./args.ts";
import { formatReport } from "./report.ts";
import { runChaos } from "./run.ts";

/** `pnpm chaos`: JSON figures on stdout, progress and the readable report on stderr; exit 1 when an oracle fails. */
async function main(): Promise<number> {
  const parsed = parseChaosArgs(process.argv.slice(2));
  if (!parsed.ok) {
    if (parsed.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`error: ${parsed.error}\n\n${USAGE}\n`);
    return 2;
  }
  const say = (line: string) => process.stderr.write(`[chaos] ${line}\n`);
  say(`seed ${parsed.options.seed} (replay with --seed ${parsed.options.seed})`);
  const run = await runChaos(parsed.options, say);
  process.stdout.write(`${JSON.stringify(run.figures, null, 2)}\n`);
  process.stderr.write(formatReport(run.figures, run.oracles));
  say(`logs kept in ${run.logs}`);
  return run.figures.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
