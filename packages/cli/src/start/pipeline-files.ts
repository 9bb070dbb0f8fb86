import { join } from "node:path";
import { stateDir } from "@sbs/infra/paths";
import { REPO_ROOT } from "./services.ts";

/** What `pnpm start` leaves in the stack's state directory for the other commands to find. */

export interface PipelineInfo {
  webhookUrl: string;
  secret: string;
  databaseUrl: string;
  /** The fake's key only: a real key stays in the environment. */
  brevo: { url: string; fake: boolean; apiKey?: string };
}

/** Where `pnpm demo` and the sink commands find the running pipeline (removed when it stops). */
export function pipelineFile(env: Record<string, string | undefined>): string {
  return join(stateDir(env), "pipeline.json");
}

/** The sink config `pnpm start` runs the sink with, and the sink commands read, unless SINK_CONFIG_FILE says otherwise. */
export const DEFAULT_SINK_CONFIG = join(REPO_ROOT, "services/brevo-sink/sink.sample.yaml");
