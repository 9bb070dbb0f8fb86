/**
 * Wires the Stripe commands to the fake Stripe server and a recording event log, with output
 * captured, for the command tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventLog } from "../adapters/event-log.ts";
import type { CommandDeps, Writer } from "../commands/cli.ts";
import { type Clock, systemClock } from "../commands/clock.ts";
import { createStripeConnection, type StripeConnectionOptions } from "../commands/stripe-connection.ts";
import { FAKE_SECRET_KEY, type FakeStripe } from "./fake-stripe.ts";

export const TEST_TOPICS = { testTopic: "stripe.events.test", liveTopic: "stripe.events.live" } as const;

export interface CapturingWriter extends Writer {
  readonly text: () => string;
  readonly lines: () => string[];
}

export function capturingWriter(): CapturingWriter {
  const chunks: string[] = [];
  return {
    write: (text: string) => chunks.push(text),
    text: () => chunks.join(""),
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line !== ""),
  };
}

export interface Harness {
  readonly deps: CommandDeps;
  readonly out: CapturingWriter;
  readonly err: CapturingWriter;
  readonly stateDir: string;
  /** Deps with another event log (a second run) and fresh output. */
  with(overrides: { eventLog?: EventLog; clock?: Clock }): Harness;
  cleanup(): Promise<void>;
}

export interface HarnessOptions {
  readonly fake: FakeStripe;
  readonly eventLog: EventLog;
  readonly apiKey?: string;
  readonly clock?: Clock;
  /** Overrides of the connection defaults used in tests (fast limiter, short backoff). */
  readonly connection?: Partial<Omit<StripeConnectionOptions, "apiKey" | "clock" | "host" | "port" | "protocol">>;
  readonly stateDir?: string;
}

export async function createHarness(opts: HarnessOptions): Promise<Harness> {
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), "sbs-stripe-commands-")));
  const build = (eventLog: EventLog, clock: Clock): Harness => {
    const out = capturingWriter();
    const err = capturingWriter();
    const stripe = createStripeConnection({
      apiKey: opts.apiKey ?? FAKE_SECRET_KEY,
      clock,
      host: opts.fake.host,
      port: opts.fake.port,
      protocol: "http",
      requestsPerSecond: 1000,
      baseBackoffMs: 5,
      maxBackoffMs: 50,
      maxNetworkRetries: 0,
      ...opts.connection,
    });
    const deps: CommandDeps = {
      stripe,
      openEventLog: async () => eventLog,
      topics: TEST_TOPICS,
      out,
      err,
      clock,
      stateDir,
    };
    return {
      deps,
      out,
      err,
      stateDir,
      with: (overrides) => build(overrides.eventLog ?? eventLog, overrides.clock ?? clock),
      cleanup: () => rm(stateDir, { recursive: true, force: true }),
    };
  };
  return build(opts.eventLog, opts.clock ?? systemClock);
}
