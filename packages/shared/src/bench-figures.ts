import { appendFileSync } from "node:fs";

/**
 * Where benchmark figures go: one JSON object per line on stdout, and also into the file that
 * `--out FILE` (or BENCH_OUT) names. pnpm prints its script banner on stdout
 * (`pnpm --filter … bench > f` mixes it in); the file holds JSON lines only, whatever pnpm's flags.
 */
export function benchOutFile(argv: readonly string[], env: Record<string, string | undefined>): string | undefined {
  const at = argv.indexOf("--out");
  if (at >= 0) {
    const file = argv[at + 1];
    if (file === undefined || file.startsWith("--")) throw new Error("--out needs a file name");
    return file;
  }
  const inline = argv.find((a) => a.startsWith("--out="));
  return inline !== undefined ? inline.slice("--out=".length) : env["BENCH_OUT"] || undefined;
}

let outFile: string | undefined | null = null;

export function writeFigure(figure: Record<string, unknown>): void {
  if (outFile === null) outFile = benchOutFile(process.argv.slice(2), process.env);
  const line = `${JSON.stringify(figure)}\n`;
  process.stdout.write(line);
  if (outFile !== undefined) appendFileSync(outFile, line);
}
