import { join, relative } from "node:path";
import { envLines, StackError, stackDown, stackPlan, stackStatus, stackUp } from "./index.ts";
import { stateDir } from "./paths.ts";

const say = (line: string) => console.error(`[stack] ${line}`);
const usage =
  "usage: stack <up [--dry-run]|down|status>\n  up      find or start Kafka, the schema registry and PostgreSQL (--dry-run: print what it would start)\n  down    stop what `up` started\n  status  show what runs and whether it answers";

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case "up": {
      if (process.argv.includes("--dry-run")) {
        const plan = await stackPlan(process.env);
        for (const line of plan) console.log(line);
        return plan.some((line) => line.startsWith("problem:")) ? 1 : 0;
      }
      const started = Date.now();
      const endpoints = await stackUp(process.env, say);
      say(
        `up in ${((Date.now() - started) / 1000).toFixed(1)} s — Kafka ${endpoints.versions.kafka}, ${endpoints.versions.registry}, PostgreSQL ${endpoints.versions.postgres}`,
      );
      const envFile = relative(process.cwd(), join(stateDir(process.env), "env")) || "env";
      say(`to point services at it: source ${envFile}   (or export these)`);
      for (const line of envLines(endpoints)) console.log(line);
      return 0;
    }
    case "down":
      await stackDown(process.env, say);
      return 0;
    case "status": {
      const status = await stackStatus(process.env);
      say(`${status.healthy ? "healthy" : "NOT healthy"}: ${status.detail}`);
      if (status.endpoints) for (const line of envLines(status.endpoints)) console.log(line);
      return status.healthy ? 0 : 1;
    }
    default:
      console.error(usage);
      return command === "--help" || command === "-h" ? 0 : 2;
  }
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof StackError) console.error(`[stack] failed — ${error.message}`);
    else console.error("[stack] failed:", error);
    process.exit(1);
  },
);
