/**
 * `pnpm --filter @sbs/ingest probe`: the security probe against a freshly started ingest on the
 * running stack (KAFKA_BROKERS, SCHEMA_REGISTRY_URL from `.stack/env`). Prints a table per phase.
 * PROBE_PER_CLASS, PROBE_ATTACK_CONNECTIONS, PROBE_LEGIT, PROBE_FLOOD size it.
 */
import { formatProbe, runProbe } from "./run-probe.ts";

const env = process.env;
const brokers = (env["KAFKA_BROKERS"] ?? "").split(",").filter(Boolean);
if (brokers.length === 0 || !env["SCHEMA_REGISTRY_URL"]) {
  console.error("probe: set KAFKA_BROKERS and SCHEMA_REGISTRY_URL (source .stack/env)");
  process.exit(2);
}
const rssBudget = 256 * 1024 * 1024;
const result = await runProbe({
  kafkaBrokers: brokers,
  schemaRegistryUrl: env["SCHEMA_REGISTRY_URL"] ?? "",
  perClass: Number(env["PROBE_PER_CLASS"] ?? 50),
  attackConnections: Number(env["PROBE_ATTACK_CONNECTIONS"] ?? 1000),
  legitDuringAttack: Number(env["PROBE_LEGIT"] ?? 100),
  floodRequests: Number(env["PROBE_FLOOD"] ?? 5000),
  rssBudgetBytes: rssBudget,
  say: (line) => console.error(`[probe] ${line}`),
});
console.log(formatProbe(result, rssBudget));
const leaked = result.classes.some((c) => c.stored > 0) || result.flood.stored > 0;
const unexpected = result.classes.filter((c) => Object.keys(c.statuses).some((s) => Number(s) !== c.expected));
if (unexpected.length > 0)
  console.log(`\nclasses with an unexpected status: ${unexpected.map((c) => c.name).join(", ")}`);
process.exit(leaked ? 1 : 0);
