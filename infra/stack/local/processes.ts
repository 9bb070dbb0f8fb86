import { spawn, spawnSync } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { sleep } from "../probes.ts";

/**
 * Every JVM we start carries `-Dsbs.stack=<state dir>` on its command line, so `stack:down` can
 * tell our processes from an unrelated one that reused a recorded PID.
 */
export function ownershipFlag(stateDir: string): string {
  return `-Dsbs.stack=${stateDir}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function isOurs(pid: number, stateDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return cmdline.includes(ownershipFlag(stateDir));
  } catch {
    return false;
  }
}

/** Starts a long-running process in its own session, output appended to `logFile`. */
export function spawnDaemon(opts: {
  command: string;
  args: string[];
  cwd: string;
  logFile: string;
  env?: Record<string, string>;
}): number {
  const out = openSync(opts.logFile, "a");
  const child = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    detached: true,
    stdio: ["ignore", out, out],
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not spawn ${opts.command}`);
  return child.pid;
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function stopProcess(pid: number, graceMs = 15_000): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    process.kill(pid, "SIGKILL");
    while (isAlive(pid)) await sleep(100);
  }
}

/** Runs a command to completion, output appended to `logFile`; returns its exit status. */
export function runLogged(command: string, args: string[], opts: { cwd: string; logFile: string }): number {
  const out = openSync(opts.logFile, "a");
  const result = spawnSync(command, args, { cwd: opts.cwd, stdio: ["ignore", out, out] });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/** Last lines of a log, for error messages that should say why without making you open the file. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log yet)";
  }
}
