/**
 * brevo-sink benchmark, against the fake Brevo (real HTTP on loopback, Brevo's limits):
 *   1. Brevo requests per 1,000 changed contacts in bulk mode (/contacts/import + polling), target ≤ 2;
 *   2. the same in incremental mode (one upsert per contact);
 *   3. wall time to sync N changed contacts at a configured rate limit, against the theoretical
 *      minimum that limit allows.
 * Prints readable lines, then one JSON object per figure per line.
 *
 *   pnpm --filter @sbs/brevo-sink bench
 *   BENCH_BULK_N=10000 BENCH_RATE_N=90 BENCH_RATE=9 pnpm --filter @sbs/brevo-sink bench
 */
import { createLogger, writeFigure } from "@sbs/shared";
import { createBrevoTransport } from "../src/adapters/brevo-transport.ts";
import { systemClock } from "../src/adapters/clock.ts";
import { noEvents } from "../src/adapters/event-source.ts";
import { createMemorySinkState } from "../src/adapters/memory-sink-state.ts";
import { createMemoryProjectionSource } from "../src/adapters/projection-source.ts";
import { parseSinkConfigText } from "../src/config-file.ts";
import type { CustomerReadModel } from "../src/domain/read-model.ts";
import { type SyncOptions, syncOnce } from "../src/sync.ts";
import { population } from "../src/testing/customers.ts";
import { type FakeBrevoOptions, startFakeBrevo } from "../src/testing/fake-brevo.ts";
import { brevoDiffersFromDesired } from "../src/testing/oracle.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const BULK_N = num("BENCH_BULK_N", 10_000);
const INCREMENTAL_N = num("BENCH_INCREMENTAL_N", 1_000);
const RATE_N = num("BENCH_RATE_N", 90);
const RATE = num("BENCH_RATE", 9); // client budget, below the general plan's 10/s

const config = parseSinkConfigText(`
version: 1
lists: { all_customers: 2, subscribers: 3, churned: 4, trialing: 5 }
`);
const logger = createLogger({ service: "brevo-sink-bench", level: "silent" });
const figures: { figure: string; value: number; unit: string; baseline: number }[] = [];
const report = (figure: string, value: number, unit: string, baseline: number, text: string) => {
  figures.push({ figure, value, unit, baseline });
  console.error(text);
};

/** Every population member has an email, so "changed contacts" = contacts pushed. */
const withEmail = (n: number, seed: number): CustomerReadModel[] =>
  population(n, seed).map((m, i) => (m.email === null ? { ...m, email: `x${seed}.${i}@example.com` } : m));

async function scenario(
  fakeOptions: FakeBrevoOptions,
  transport: { perSecond: number; perHour: number },
  sync: Partial<SyncOptions>,
  prepare: (put: (models: CustomerReadModel[]) => Promise<void>) => Promise<CustomerReadModel[]>,
) {
  const fake = await startFakeBrevo(fakeOptions);
  const t = createBrevoTransport({
    apiKey: fake.apiKey,
    baseUrl: fake.url,
    ...transport,
    maxAttempts: 6,
    baseDelayMs: 100,
    maxDelayMs: 2000,
    max429: 100,
    timeoutSeconds: 30,
    processPollMs: 50,
    processTimeoutMs: 120_000,
    clock: systemClock,
    logger,
  });
  for (const a of config.attributes)
    if (!fake.attributes.has(a.attribute)) await t.createAttribute(a.attribute, a.type);
  const source = createMemoryProjectionSource();
  const state = createMemorySinkState();
  const run = () =>
    syncOnce(
      { config, source, events: noEvents, state, transport: t, logger, clock: systemClock },
      {
        bulkThreshold: 200,
        pageSize: 50_000,
        concurrency: 16,
        importMaxBytes: 8 * 1024 * 1024,
        mode: "incremental",
        ...sync,
      },
    );
  const changed = await prepare(async (models) => {
    source.put(...models);
    await run();
  });
  source.put(...changed);
  fake.resetLog();
  const requestsBefore = t.stats.requests;
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  const requests = t.stats.requests - requestsBefore;
  const divergent = brevoDiffersFromDesired(fake, config, source.models.values());
  await fake.close();
  if (divergent.length > 0)
    throw new Error(`Brevo differs from the desired state: ${divergent.slice(0, 3).join("; ")}`);
  return { result, seconds, requests, counts: fake.counts(), throttled: t.stats.throttled };
}

const unlimited = {
  contacts: { perSecond: 1e6, perHour: 1e9 },
  events: { perSecond: 1e6, perHour: 1e9 },
  other: { perSecond: 1e6, perHour: 1e9 },
};
const fast = { perSecond: 1e6, perHour: 1e9 };

// 1. Bulk: first sync of BULK_N customers through /contacts/import.
{
  const s = await scenario({ rateLimits: unlimited, importDelayMs: 200 }, fast, { forceMode: "bulk" }, async () =>
    withEmail(BULK_N, 1),
  );
  const per1000 = (s.requests / s.result.pushed) * 1000;
  report(
    "bulk_requests_per_1000_contacts",
    per1000,
    "requests",
    2,
    `bulk: ${s.result.pushed} new contacts in ${s.requests} Brevo requests (${JSON.stringify(s.counts)}) = ${per1000.toFixed(2)} per 1,000 (target ≤ 2), ${s.seconds.toFixed(2)} s`,
  );
  report(
    "bulk_wall_seconds",
    s.seconds,
    "s",
    s.seconds,
    `bulk: wall time ${s.seconds.toFixed(2)} s for ${s.result.pushed} contacts (fake import delay 200 ms)`,
  );
}

// 1b. Bulk, changes to existing contacts (a rebuild with a new formula: attributes and lists move).
{
  const s = await scenario({ rateLimits: unlimited, importDelayMs: 200 }, fast, { forceMode: "bulk" }, async (put) => {
    const models = withEmail(BULK_N, 2);
    await put(models);
    return models.map((m, i) => ({
      ...m,
      paymentCount: m.paymentCount + 1,
      subscriptionStatus: i % 4 === 0 ? "canceled" : m.subscriptionStatus,
      churned: i % 4 === 0 ? true : m.churned,
    }));
  });
  const per1000 = (s.requests / s.result.pushed) * 1000;
  report(
    "bulk_update_requests_per_1000_contacts",
    per1000,
    "requests",
    2,
    `bulk updates: ${s.result.pushed} changed contacts in ${s.requests} requests (${JSON.stringify(s.counts)}) = ${per1000.toFixed(2)} per 1,000`,
  );
}

// 2. Incremental: INCREMENTAL_N changed existing contacts, one call each.
{
  const s = await scenario({ rateLimits: unlimited }, fast, { forceMode: "incremental" }, async (put) => {
    const models = withEmail(INCREMENTAL_N, 3);
    await put(models);
    return models.map((m) => ({ ...m, paymentCount: m.paymentCount + 1 }));
  });
  const per1000 = (s.requests / s.result.pushed) * 1000;
  report(
    "incremental_requests_per_1000_contacts",
    per1000,
    "requests",
    1000,
    `incremental: ${s.result.pushed} changed contacts in ${s.requests} requests (${JSON.stringify(s.counts)}) = ${per1000.toFixed(0)} per 1,000`,
  );
}

// 3. Wall time at a rate limit: the fake enforces Brevo's general plan (10/s, 36,000/h), the
// client budgets RATE/s. Minimum: requests paced 1/RATE s apart, the first at once.
{
  const s = await scenario(
    { importDelayMs: 200 },
    { perSecond: RATE, perHour: 32_000 },
    { forceMode: "incremental", concurrency: 4 },
    async () => withEmail(RATE_N, 4),
  );
  const minimum = Math.max(0, (s.requests - 1) / RATE);
  report(
    "incremental_wall_seconds_at_rate_limit",
    s.seconds,
    "s",
    minimum,
    `rate-limited: ${s.result.pushed} contacts at ${RATE}/s took ${s.seconds.toFixed(2)} s; theoretical minimum ${minimum.toFixed(2)} s ` +
      `(ratio ${(s.seconds / minimum).toFixed(3)}), 429s: ${s.throttled}`,
  );
}

for (const f of figures) {
  writeFigure({
    bench: "brevo-sink",
    figure: f.figure,
    value: Number(f.value.toFixed(4)),
    unit: f.unit,
    baseline: Number(f.baseline.toFixed(4)),
    ratio: f.baseline === 0 ? null : Number((f.value / f.baseline).toFixed(4)),
  });
}
