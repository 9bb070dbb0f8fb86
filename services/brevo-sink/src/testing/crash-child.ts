/**
 * A sink process for the kill -9 test (sink.int.test.ts): one sync pass against the fake Brevo
 * and Postgres, which SIGKILLs itself right after Brevo confirmed something and before the
 * bookkeeping ran. Configured by environment: DATABASE_URL, DATABASE_SCHEMA, BREVO_URL,
 * BREVO_API_KEY, SINK_CONFIG_YAML, CRASH_AFTER ("contacts:<n>" or "event:<id>").
 */
import { createLogger, createPool } from "@sbs/shared";
import { systemClock } from "../adapters/clock.ts";
import { createPgEventSource } from "../adapters/pg-event-source.ts";
import { createPgProjectionSource } from "../adapters/pg-projection-source.ts";
import { createPgSinkState } from "../adapters/pg-sink-state.ts";
import { parseSinkConfigText } from "../config-file.ts";
import { syncOnce } from "../sync.ts";
import { testTransport } from "./harness.ts";

const env = process.env;
const pool = createPool({
  url: env["DATABASE_URL"] ?? "",
  schema: env["DATABASE_SCHEMA"] ?? "",
  applicationName: "crash-child",
});
const [kind, arg] = (env["CRASH_AFTER"] ?? "contacts:1").split(":");
let confirmed = 0;
const die = () => process.kill(process.pid, "SIGKILL");

await syncOnce(
  {
    config: parseSinkConfigText(env["SINK_CONFIG_YAML"] ?? "version: 1"),
    source: createPgProjectionSource(pool),
    events: createPgEventSource(pool),
    state: createPgSinkState(pool),
    transport: testTransport({ url: env["BREVO_URL"] ?? "", apiKey: env["BREVO_API_KEY"] ?? "" }),
    logger: createLogger({ service: "crash-child", level: "silent" }),
    clock: systemClock,
  },
  {
    bulkThreshold: 1_000_000,
    pageSize: 1000,
    concurrency: 1,
    importMaxBytes: 8 * 1024 * 1024,
    mode: "incremental",
    onConfirmed: () => {
      if (kind === "contacts" && ++confirmed >= Number(arg)) die();
    },
    onEventSent: (id) => {
      if (kind === "event" && id === arg) die();
    },
  },
);
await pool.end();
