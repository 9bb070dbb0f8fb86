import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startFakeBrevo } from "@sbs/brevo-sink/testing/fake-brevo";
import { stackUp } from "@sbs/infra";
import { stateDir } from "@sbs/infra/paths";
import { createLogger } from "@sbs/shared";
import pg from "pg";
import { DASHBOARD_PORT, startDashboard } from "../dashboard/command.ts";
import { migrateAll } from "../migrate/migrate-all.ts";
import { DEFAULT_SINK_CONFIG, type PipelineInfo, pipelineFile } from "./pipeline-files.ts";
import { lastLines, type ServiceName, serviceRoleEnv, startService, stopService, waitForOk } from "./services.ts";

/**
 * `pnpm start`: the whole pipeline on one machine. The stack comes up (or is found), then ingest,
 * projector and sink run as three processes, as they would in production: each can fail, restart
 * and scale on its own, and together they use more than one core. Brevo is the real one when
 * BREVO_API_KEY is set, otherwise a local fake that follows Brevo's contract (nothing leaves the
 * machine). Ctrl-C stops the three services; `pnpm stack:down` stops the stack.
 */

const INGEST_PORT = 8080;
/** Ingest's internal port: /metrics, /healthz, /readyz (the webhook port serves the webhook only). */
const INGEST_METRICS_PORT = 9464;
const SINK_METRICS_PORT = 9466;
const PROJECTOR_PORT = 9465;

/** A stable local signing secret, so a restart keeps accepting what `pnpm demo` signs. */
function localSecret(dir: string): string {
  const file = join(dir, "webhook-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = `whsec_local_${randomBytes(16).toString("hex")}`;
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export async function runPipeline(
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<number> {
  const endpoints = await stackUp(env, (line) => say(`stack: ${line}`));
  const dir = stateDir(env);
  mkdirSync(join(dir, "logs"), { recursive: true });

  const secrets = env["STRIPE_WEBHOOK_SECRETS"] ?? `local=${localSecret(dir)}`;
  const fake = env["BREVO_API_KEY"] ? undefined : await startFakeBrevo({});
  const brevo = fake
    ? { apiKey: fake.apiKey, url: fake.url }
    : { apiKey: env["BREVO_API_KEY"] ?? "", url: env["BREVO_BASE_URL"] ?? "https://api.brevo.com/v3" };
  if (fake) await forgetFakeBrevoState(endpoints.databaseUrl, say);
  const sinkConfig = env["SINK_CONFIG_FILE"] ?? DEFAULT_SINK_CONFIG;

  // Migrations as the owner (the stack's DATABASE_URL); the services then run as their own
  // DML-only roles, as in production, so a missing grant shows here and in CI.
  const applied = await migrateAll(
    endpoints.databaseUrl,
    env["DATABASE_SCHEMA"] || undefined,
    createLogger({ service: "migrate", level: "warn" }),
  );
  if (applied.length > 0) say(`migrations applied: ${applied.join(", ")}`);
  const common = {
    ...env,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(","),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: endpoints.databaseUrl,
    LOG_LEVEL: env["LOG_LEVEL"] ?? "info",
    // The local stack has one broker: topics get one replica, which ensureTopics refuses otherwise.
    KAFKA_SINGLE_NODE: env["KAFKA_SINGLE_NODE"] ?? "true",
  };
  const roles = serviceRoleEnv(endpoints);
  const services: { name: ServiceName; env: Record<string, string | undefined> }[] = [
    {
      name: "ingest",
      env: {
        ...common,
        HTTP_PORT: String(INGEST_PORT),
        METRICS_PORT: String(INGEST_METRICS_PORT),
        STRIPE_WEBHOOK_SECRETS: secrets,
      },
    },
    {
      name: "projector",
      env: { ...common, ...roles.projector, HTTP_PORT: String(PROJECTOR_PORT) },
    },
    {
      name: "brevo-sink",
      env: {
        ...common,
        ...roles.sink,
        BREVO_API_KEY: brevo.apiKey,
        BREVO_BASE_URL: brevo.url,
        SINK_CONFIG_FILE: sinkConfig,
        HTTP_PORT: String(SINK_METRICS_PORT),
        // Locally, show changes within seconds; in production the default interval is gentler.
        SINK_INTERVAL_MS: env["SINK_INTERVAL_MS"] ?? "2000",
      },
    },
  ];
  // With a Stripe key, the line-items enricher too: the sink sends Checkout events from its records
  // (events.line_items, on by default). Without one, Checkout events wait for an enricher.
  if (env["STRIPE_API_KEY"]) services.push({ name: "enricher", env: { ...common } });
  else say("no STRIPE_API_KEY: the line-items enricher is not started (Checkout events need it)");

  const children = new Map<string, ChildProcess>();
  let closeDashboard: () => Promise<void> = () => Promise.resolve();
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping ingest, projector, brevo-sink and the enricher (the stack keeps running: pnpm stack:down stops it)");
    await Promise.all([...children.values()].map((child) => stopService(child)));
    await closeDashboard();
    await fake?.close();
    // Nothing answers at its addresses any more: the other commands must not find it.
    rmSync(pipelineFile(env), { force: true });
    say(code === 0 ? "stopped" : "stopped after a failure");
    process.exit(code);
  };

  for (const service of services) {
    const log = join(dir, "logs", `${service.name}.log`);
    const child = startService(service.name, service.env, log);
    children.set(service.name, child);
    child.once("exit", (code, signal) => {
      if (stopping) return;
      say(`${service.name} exited (${signal ?? `code ${code}`}); its log: ${log}`);
      say(lastLines(log));
      void stopAll(1);
    });
  }
  // Ctrl-C reaches us twice under pnpm (the terminal signals the whole process group, then pnpm
  // forwards its own copy): a repeat within a second is that echo and is ignored; a later one
  // means "stop now" and kills what is still running.
  let firstSignalAt: number | undefined;
  const onSignal = () => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      void stopAll(0);
    } else if (Date.now() - firstSignalAt > 1000) {
      say("second signal: killing what is still running");
      for (const child of children.values()) child.kill("SIGKILL");
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const webhookUrl = `http://127.0.0.1:${INGEST_PORT}/webhooks/stripe`;
  const ready = await waitForOk(`http://127.0.0.1:${INGEST_METRICS_PORT}/readyz`, 60_000);
  if (!ready) {
    say(`ingest did not become ready; see ${join(dir, "logs", "ingest.log")}`);
    await stopAll(1);
    return 1;
  }
  const secret = secrets.split(",")[0]?.split("=").pop() ?? "";
  const info: PipelineInfo = {
    webhookUrl,
    secret,
    databaseUrl: endpoints.databaseUrl,
    brevo: fake ? { url: fake.url, fake: true, apiKey: fake.apiKey } : { url: brevo.url, fake: false },
  };
  writeFileSync(pipelineFile(env), JSON.stringify(info, null, 2), { mode: 0o600 });
  const dashboardEnv = { ...common, SINK_CONFIG_FILE: sinkConfig };
  const dashboard = await startDashboard({
    env: dashboardEnv,
    targets: [
      { name: "ingest", url: `http://127.0.0.1:${INGEST_METRICS_PORT}/metrics` },
      { name: "projector", url: `http://127.0.0.1:${PROJECTOR_PORT}/metrics` },
      { name: "brevo-sink", url: `http://127.0.0.1:${SINK_METRICS_PORT}/metrics` },
    ],
    port: Number(env["DASHBOARD_PORT"] ?? DASHBOARD_PORT),
  }).catch((error: Error) => {
    say(`dashboard not started: ${error.message}`);
    return undefined;
  });
  closeDashboard = () => dashboard?.close() ?? Promise.resolve();

  say("");
  say("the pipeline is running");
  say(
    `  Stripe webhooks   POST ${webhookUrl}   (signing secret in ${join(dir, "webhook-secret")} unless STRIPE_WEBHOOK_SECRETS is set)`,
  );
  say(
    `  ingest metrics    http://127.0.0.1:${INGEST_METRICS_PORT}/metrics   (internal port; every service binds 127.0.0.1)`,
  );
  say(`  projector metrics http://127.0.0.1:${PROJECTOR_PORT}/metrics`);
  say(`  brevo-sink metrics http://127.0.0.1:${SINK_METRICS_PORT}/metrics`);
  say(`  projections       ${endpoints.databaseUrl}  (view customer_metrics)`);
  say(
    fake
      ? `  Brevo             FAKE Brevo at ${fake.url} — no BREVO_API_KEY set, nothing is sent to Brevo`
      : `  Brevo             ${brevo.url} (BREVO_API_KEY is set: changes go to your Brevo account)`,
  );
  if (dashboard) say(`  dashboard         ${dashboard.url}`);
  say(`  logs              ${join(dir, "logs")}/{ingest,projector,brevo-sink}.log`);
  say("  sample data       pnpm demo     status: pnpm cli status     stop: Ctrl-C");
  say("");

  if (fake) {
    let last = "";
    setInterval(() => {
      const line = `fake Brevo: ${fake.contacts.size} contacts, ${fake.events.length} events, ${fake.log.length} requests`;
      if (line !== last) say(line);
      last = line;
    }, 5000).unref();
  }
  // Keep running until a signal or a service exit ends the process.
  await new Promise(() => {});
  return 0;
}

/**
 * The fake Brevo keeps its contacts in memory and starts empty, so what the sink recorded as
 * pushed to the previous fake is no longer true: forget it, and the sink pushes everyone again.
 * The event ledger is kept, so no custom event is ever sent twice.
 */
async function forgetFakeBrevoState(databaseUrl: string, say: (line: string) => void): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const exists = await client.query("SELECT to_regclass('brevo_contact_state') IS NOT NULL AS present");
    if (!exists.rows[0]?.present) return;
    await client.query("BEGIN");
    await client.query("DELETE FROM brevo_contact_state");
    await client.query("DELETE FROM brevo_sync_failures");
    await client.query("DELETE FROM brevo_sink_cursors WHERE name = 'projection'");
    await client.query("COMMIT");
    say("fake Brevo starts empty: the sink's record of pushed contacts was reset, so it pushes everyone again");
  } finally {
    await client.end();
  }
}
