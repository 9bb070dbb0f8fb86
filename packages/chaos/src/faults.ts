import type { FakeBrevo, FaultKind } from "@sbs/brevo-sink/testing/fake-brevo";
import type { PrivateStack } from "./private-stack.ts";
import type { FaultEntry, ServiceKind } from "./schedule.ts";
import type { Supervisor } from "./supervisor.ts";

/**
 * Carries out the schedule: each entry at its time, without waiting for the one before (a kill
 * may land during a Postgres outage, as in life), except that stack outages run one at a time.
 * Returns what was done, per kind, and when the last fault ended (the start of "converge time").
 */
export interface FaultRunner {
  readonly done: Promise<void>;
  readonly applied: Record<string, number>;
  /** Entries that found nothing to act on (e.g. the instance was down at that moment). */
  readonly missed: Record<string, number>;
  lastFaultEndedAt(): number;
  rebuildsSwitched(): number;
}

const HIT_WAIT_MS = 30_000;

const BREVO_FAULT: Record<string, FaultKind> = {
  "429-storm": "429",
  "5xx": "5xx",
  timeout: "timeout",
  "apply-then-fail": "apply-then-fail",
};

export function runFaults(o: {
  schedule: readonly FaultEntry[];
  supervisor: Supervisor;
  stack: PrivateStack;
  fake: FakeBrevo;
  instanceName: (service: ServiceKind, instance: number) => string;
  /** Runs `pnpm cli rebuild` to completion (with its switch); resolves true once it switched. */
  rebuild: () => Promise<boolean>;
  say: (line: string) => void;
}): FaultRunner {
  const started = Date.now();
  const applied: Record<string, number> = {};
  const missed: Record<string, number> = {};
  let lastEnd = started;
  let switched = 0;
  let outage: Promise<void> = Promise.resolve();
  const count = (to: Record<string, number>, key: string) => {
    to[key] = (to[key] ?? 0) + 1;
  };
  const ended = () => {
    lastEnd = Math.max(lastEnd, Date.now());
  };

  /**
   * A fault aimed at an instance that is down (the supervisor restarting it, slow on a loaded
   * machine) waits for it to be back, up to HIT_WAIT_MS, instead of being lost: a soak in which a
   * fault kind never happened proves nothing about it.
   */
  const untilHit = async (attempt: () => boolean | Promise<boolean>): Promise<boolean> => {
    const deadline = Date.now() + HIT_WAIT_MS;
    for (;;) {
      if (await attempt()) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const act = async (e: FaultEntry): Promise<void> => {
    switch (e.kind) {
      case "kill9": {
        const key = `kill9-${e.service}`;
        if (await untilHit(() => o.supervisor.kill9(o.instanceName(e.service, e.instance)))) count(applied, key);
        else count(missed, key);
        return ended();
      }
      case "sigstop": {
        const key = `sigstop-${e.service}`;
        if (await untilHit(() => o.supervisor.pause(o.instanceName(e.service, e.instance), e.pauseMs)))
          count(applied, key);
        else count(missed, key);
        return ended();
      }
      case "broker-kill9":
      case "postgres-kill9": {
        const run = outage.then(async () => {
          o.say(`${e.kind} for ${e.downMs} ms`);
          if (e.kind === "broker-kill9") await o.stack.brokerOutage(e.downMs);
          else await o.stack.postgresOutage(e.downMs);
          count(applied, e.kind);
          ended();
        });
        outage = run.catch((error: unknown) => o.say(`${e.kind} failed: ${String(error)}`));
        return outage;
      }
      case "brevo":
        o.fake.inject({ kind: BREVO_FAULT[e.fault] as FaultKind, times: e.times });
        count(applied, `brevo-${e.fault}`);
        return ended();
      case "rebuild":
        o.say("rebuild with switch, under flowing events");
        if (await o.rebuild()) switched++;
        count(applied, "rebuild");
        return ended();
    }
  };

  const done = Promise.all(
    o.schedule.map(
      (e) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              act(e).then(resolve, (error: unknown) => {
                o.say(`fault ${e.kind} failed: ${String(error)}`);
                resolve();
              });
            },
            Math.max(0, e.atMs - (Date.now() - started)),
          );
        }),
    ),
  ).then(() => undefined);
  return { done, applied, missed, lastFaultEndedAt: () => lastEnd, rebuildsSwitched: () => switched };
}
