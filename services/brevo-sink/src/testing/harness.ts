import { createLogger } from "@sbs/shared";
import { type BrevoTransport, createBrevoTransport, type TransportOptions } from "../adapters/brevo-transport.ts";
import { systemClock } from "../adapters/clock.ts";
import { createMemoryEventSource } from "../adapters/event-source.ts";
import { createMemorySinkState } from "../adapters/memory-sink-state.ts";
import { createMemoryProjectionSource } from "../adapters/projection-source.ts";
import type { SinkState } from "../adapters/sink-state.ts";
import type { SinkConfig } from "../domain/sink-config.ts";
import { type SyncOptions, syncOnce } from "../sync.ts";
import { type FakeBrevo, type FakeBrevoOptions, startFakeBrevo } from "./fake-brevo.ts";

/** Fast settings for tests against the fake: short backoffs, generous but real limits. */
export function testTransport(
  fake: Pick<FakeBrevo, "url" | "apiKey">,
  overrides: Partial<TransportOptions> = {},
): BrevoTransport {
  return createBrevoTransport({
    apiKey: fake.apiKey,
    baseUrl: fake.url,
    perSecond: 1000,
    perHour: 1_000_000,
    maxAttempts: 8,
    baseDelayMs: 5,
    maxDelayMs: 50,
    max429: 1000,
    timeoutSeconds: 2,
    processPollMs: 5,
    processTimeoutMs: 10_000,
    clock: systemClock,
    logger: createLogger({ service: "brevo-sink-test", level: "silent" }),
    ...overrides,
  });
}

export const testSyncOptions: SyncOptions = {
  bulkThreshold: 50,
  pageSize: 500,
  concurrency: 8,
  importMaxBytes: 8 * 1024 * 1024,
  mode: "incremental",
};

/** The fake, the sink's in-memory sources and state, and a way to run sync passes. */
export async function sinkHarness(
  config: SinkConfig,
  fakeOptions: FakeBrevoOptions = {},
  transportOverrides: Partial<TransportOptions> = {},
) {
  const fake = await startFakeBrevo({
    rateLimits: {
      contacts: { perSecond: 1000, perHour: 1_000_000 },
      events: { perSecond: 1000, perHour: 1_000_000 },
      other: { perSecond: 1000, perHour: 1_000_000 },
    },
    importDelayMs: 5,
    timeoutFaultMs: 2500,
    ...fakeOptions,
  });
  const transport = testTransport(fake, transportOverrides);
  const state = createMemorySinkState();
  const source = createMemoryProjectionSource();
  const events = createMemoryEventSource();
  const logger = createLogger({ service: "brevo-sink-test", level: "silent" });
  for (const m of config.attributes) {
    if (!fake.attributes.has(m.attribute)) await transport.createAttribute(m.attribute, m.type);
  }
  fake.resetLog();
  return {
    fake,
    transport,
    state,
    source,
    events,
    run: (options: Partial<SyncOptions> = {}, over: { state?: SinkState; transport?: BrevoTransport } = {}) =>
      syncOnce(
        {
          config,
          source,
          events,
          state: over.state ?? state,
          transport: over.transport ?? transport,
          logger,
          clock: systemClock,
        },
        { ...testSyncOptions, ...options },
      ),
  };
}
