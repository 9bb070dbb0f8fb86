/** What /proc says of a process (Linux; undefined elsewhere or once the process is gone). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  /** The command name (`comm`). */
  readonly name: string;
  /** CPU time (user + system, seconds) of the process so far. */
  readonly cpuSeconds: number;
  /** CPU time of its children that exited and were waited for (cutime + cstime). */
  readonly childrenCpuSeconds: number;
}

export function procStat(pid: number | string | undefined): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      childrenCpuSeconds: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

export const cpuSecondsOf = (pid: number | undefined): number | undefined => procStat(pid)?.cpuSeconds;

/** Peak resident set (VmHWM, MiB) of a live process so far, from /proc/<pid>/status. */
export function peakRssMiBOf(pid: number | undefined): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
