import type { Logger } from "@sbs/shared";
import pg from "pg";

/**
 * Several sink instances may run (for availability), but only one pushes contacts: two pushers
 * would race on the same contact and on the "last pushed" bookkeeping. The leader holds a
 * session-level advisory lock on a dedicated connection; if the process or its connection dies,
 * Postgres releases the lock and a standby takes over on its next pass. Custom events need no
 * leader: the ledger's claim is atomic, so any instance may send them.
 */
export interface Leadership {
  /** True when this instance holds the lock (acquiring it if free); false while another holds it. */
  lead(): Promise<boolean>;
  release(): Promise<void>;
}

export function createLeadership(opts: {
  databaseUrl: string;
  schema: string | undefined;
  logger: Logger;
}): Leadership {
  // One lock per sink deployment: its schema names it (the default search_path otherwise).
  const key = `brevo-sink:${opts.schema ?? "default"}`;
  let client: pg.Client | undefined;
  let leading = false;
  let announcedStandby = false;

  const drop = async () => {
    leading = false;
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };

  return {
    async lead() {
      try {
        if (!client) {
          const c = new pg.Client({ connectionString: opts.databaseUrl, application_name: "brevo-sink-leader" });
          c.on("error", () => void drop());
          await c.connect();
          client = c;
        }
        if (leading) {
          // Still our session? A dead connection means the lock is gone with it.
          await client.query("SELECT 1");
          return true;
        }
        const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [key]);
        leading = rows[0]?.ok === true;
        if (leading) {
          opts.logger.info({ lock: key }, "leading: this instance pushes contacts");
          announcedStandby = false;
        } else if (!announcedStandby) {
          opts.logger.info({ lock: key }, "standby: another sink instance pushes contacts");
          announcedStandby = true;
        }
        return leading;
      } catch (error) {
        opts.logger.warn({ err: error }, "leader lock connection lost; not pushing until it is back");
        await drop();
        return false;
      }
    },
    release: drop,
  };
}
