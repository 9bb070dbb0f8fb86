import { MIGRATIONS_DIR as SINK_MIGRATIONS } from "@sbs/brevo-sink/app";
import { MIGRATIONS_DIR as PROJECTOR_MIGRATIONS } from "@sbs/projector/runtime";
import { type Logger, migrate } from "@sbs/shared";

/**
 * Both services' migrations, as the deploy-time owner: the projector's first (its views and the
 * grants the sink reads them with), then the sink's. What `pnpm cli migrate`, `pnpm start` and the
 * end-to-end test run before starting the services under their DML-only roles.
 */
export async function migrateAll(url: string, schema: string | undefined, logger: Logger): Promise<string[]> {
  const at = schema === undefined ? {} : { schema };
  const projector = await migrate({ url, dir: PROJECTOR_MIGRATIONS, logger, ...at });
  const sink = await migrate({ url, dir: SINK_MIGRATIONS, logger, ...at });
  return [...projector.map((m) => `projector/${m}`), ...sink.map((m) => `brevo-sink/${m}`)];
}
