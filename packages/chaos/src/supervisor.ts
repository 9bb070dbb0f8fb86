import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { lastLines, type ServiceName, startService } from "@sbs/cli/start/services";

/**
 * Runs the services as separate OS processes, each through its normal entry point (the same
 * spawn as `pnpm start`), in a process group of its own, and restarts whatever exits, the way a
 * supervisor (systemd, Kubernetes) would. Faults are signals to the group: kill -9 reaches ingest's
 * cluster workers too, SIGSTOP freezes every thread. Samples the resident memory of each group.
 */
export interface Instance {
  /** e.g. projector-1 */
  readonly name: string;
  readonly service: ServiceName;
  readonly env: Record<string, string | undefined>;
  readonly logFile: string;
}

export interface InstanceFigures {
  starts: number;
  /** Exits the harness did not cause (a crash of its own: worth reading its log). */
  ownExits: number;
  lastOwnExit?: string;
  peakRssBytes: number;
}

export interface Supervisor {
  start(instance: Instance): void;
  /** kill -9 of the whole group; the supervisor restarts it after `restartDelayMs`. */
  kill9(name: string): boolean;
  /** SIGSTOP now, SIGCONT after `ms` (if the same process still lives). */
  pause(name: string, ms: number): Promise<boolean>;
  pid(name: string): number | undefined;
  figures(): Record<string, InstanceFigures>;
  stopAll(graceMs?: number): Promise<void>;
}

/** Resident set of a process and its descendants, in bytes (0 when gone). */
export function treeRssBytes(pid: number): number {
  let total = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop() as number;
    try {
      const status = readFileSync(`/proc/${p}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      total += kb === undefined ? 0 : Number(kb) * 1024;
      const children = readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim();
      if (children !== "") pending.push(...children.split(/\s+/).map(Number));
    } catch {
      // Gone in the meantime.
    }
  }
  return total;
}

export function createSupervisor(opts: { restartDelayMs: number; say: (line: string) => void }): Supervisor {
  const running = new Map<string, { instance: Instance; child: ChildProcess; killedByUs: boolean }>();
  const figures: Record<string, InstanceFigures> = {};
  let stopping = false;

  const signal = (child: ChildProcess, sig: NodeJS.Signals): boolean => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    try {
      process.kill(-child.pid, sig);
      return true;
    } catch {
      return false;
    }
  };

  const launch = (instance: Instance) => {
    figures[instance.name] ??= { starts: 0, ownExits: 0, peakRssBytes: 0 };
    const f = figures[instance.name] as InstanceFigures;
    f.starts++;
    const child = startService(instance.service, instance.env, instance.logFile, { detached: true });
    const entry = { instance, child, killedByUs: false };
    running.set(instance.name, entry);
    child.once("exit", (code, sig) => {
      // A group member may outlive the leader (a cluster worker that has not noticed yet).
      if (child.pid !== undefined)
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // none left
        }
      if (stopping) return;
      if (!entry.killedByUs) {
        f.ownExits++;
        f.lastOwnExit = `${sig ?? `code ${code}`}: ${lastLines(instance.logFile, 5)}`;
        opts.say(`${instance.name} exited on its own (${sig ?? `code ${code}`}); restarting`);
      }
      setTimeout(() => {
        if (!stopping) launch(instance);
      }, opts.restartDelayMs);
    });
  };

  const sampler = setInterval(() => {
    for (const [name, { child }] of running) {
      if (child.pid === undefined) continue;
      const rss = treeRssBytes(child.pid);
      const f = figures[name];
      if (f && rss > f.peakRssBytes) f.peakRssBytes = rss;
    }
  }, 1000);
  sampler.unref();

  return {
    start: launch,
    kill9(name) {
      const entry = running.get(name);
      if (!entry) return false;
      entry.killedByUs = true;
      return signal(entry.child, "SIGKILL");
    },
    async pause(name, ms) {
      const entry = running.get(name);
      if (!entry || !signal(entry.child, "SIGSTOP")) return false;
      await new Promise((r) => setTimeout(r, ms));
      // Killed (and restarted) meanwhile: the new process was never stopped.
      if (running.get(name) === entry) signal(entry.child, "SIGCONT");
      return true;
    },
    pid: (name) => running.get(name)?.child.pid,
    figures: () => figures,
    async stopAll(graceMs = 15_000) {
      stopping = true;
      clearInterval(sampler);
      await Promise.all(
        [...running.values()].map(
          ({ child }) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once("exit", () => resolve());
              signal(child, "SIGCONT");
              signal(child, "SIGTERM");
              setTimeout(() => signal(child, "SIGKILL"), graceMs).unref();
            }),
        ),
      );
    },
  };
}
