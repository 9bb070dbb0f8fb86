/**
 * Where a projector process's JavaScript thread spent its CPU: a V8 `.cpuprofile` (written by
 * `node --cpu-prof` at exit) summed by self time, per module (a dependency, or a file of this
 * repository) and per function. The bench prints it with BENCH_CPU_PROFILE=1.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  /** Microseconds since the previous sample. */
  readonly timeDeltas: readonly number[];
}

/** A module's name for a reader: the npm package, this repository's file, or V8's own bucket. */
export function moduleOf(url: string, functionName: string): string {
  if (url === "") return functionName === "" ? "(anonymous V8)" : functionName; // (garbage collector), (program), (idle)
  if (url.startsWith("node:")) return "node internals";
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm) return pnpm[1] as string;
  const plain = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (plain) return plain[1] as string;
  const repo = /\/((?:services|packages)\/[^/]+\/src\/.+)$/.exec(url);
  if (repo) return repo[1] as string;
  return url.replace(/^file:\/\//, "");
}

export interface CpuSummary {
  readonly totalSeconds: number;
  readonly byModule: readonly (readonly [string, number])[];
  readonly byFunction: readonly (readonly [string, number])[];
}

/** Self time per module and per function, in seconds, largest first; `(idle)` left out. */
export function summarise(profile: CpuProfile, top = 15): CpuSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = nodes.get(id);
    const seconds = (profile.timeDeltas[i] ?? 0) / 1e6;
    if (node === undefined || node.callFrame.functionName === "(idle)") return;
    const { functionName, url, lineNumber } = node.callFrame;
    const module = moduleOf(url, functionName);
    total += seconds;
    modules.set(module, (modules.get(module) ?? 0) + seconds);
    const fn = url === "" ? module : `${functionName || "(anonymous)"} ${module}:${lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + seconds);
  });
  const largest = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalSeconds: total, byModule: largest(modules), byFunction: largest(functions) };
}

export const readCpuProfile = (path: string): CpuProfile => JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
