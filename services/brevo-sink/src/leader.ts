import type { Logger } from "@sbs/shared";
import pg from "pg";

/**
 * Several sink instances may run (for availability), but only one pushes contacts: two pushers
 * would race on the same contact and on the "last pushed" bookkeeping. The leader holds a
 * session-level advisory lock on a dedicated connection; if the process or its connection dies,
 * Postgres releases the lock and a standby takes over on its next pass. Custom events need no
 * leader: the ledger's claim is atomic, so any instance may send them.
 *
 * The lock alone does not stop a pass that is already running when its connection drops (a long
 * import poll): the new leader would push beside it. So taking the lock also takes the lease
 * (bumps its epoch, sink-state.ts), and every Brevo batch and bookkeeping write of a pass carries
 * the epoch it started with: once another instance took the lead, the old pass can neither start
 * another batch nor record anything (fencing). The lock's connection uses TCP keepalive so an
 * idle connection is not silently dropped by the network in between.
 *
 * Session advisory locks need a session: point the sink at Postgres directly or through a
 * session-mode pooler, never a transaction pooler (PgBouncer pool_mode=transaction), which hands
 * the lock's session to other clients. The lease still fences writes in that case, but two
 * instances could keep taking the lead from each other.
 */
export interface Leadership {
  /**
   * The epoch to push under while this instance holds the lock (acquiring lock and lease when
   * free); undefined while another instance leads or the connection is down.
   */
  lead(): Promise<number | undefined>;
  release(): Promise<void>;
}

export interface LeaseStore {
  acquireLease(holder: string): Promise<number>;
  leaseEpoch(): Promise<number | undefined>;
}

export function createLeadership(opts: {
  databaseUrl: string;
  schema: string | undefined;
  logger: Logger;
  lease: LeaseStore;
  /** Who holds the lease (logged and stored in the lease row). */
  holder?: string;
}): Leadership {
  // One lock per sink deployment: its schema names it (the default search_path otherwise).
  const key = `brevo-sink:${opts.schema ?? "default"}`;
  const holder = opts.holder ?? `pid ${process.pid}`;
  let client: pg.Client | undefined;
  let epoch: number | undefined;
  let announcedStandby = false;

  const drop = async () => {
    epoch = undefined;
    const c = client;
    client = undefined;
    await c?.end().catch(() => {});
  };

  return {
    async lead() {
      try {
        if (!client) {
          const c = new pg.Client({
            connectionString: opts.databaseUrl,
            application_name: "brevo-sink-leader",
            keepAlive: true,
            keepAliveInitialDelayMillis: 10_000,
          });
          c.on("error", () => void drop());
          await c.connect();
          client = c;
        }
        if (epoch !== undefined) {
          // Still our session? A dead connection means the lock is gone with it.
          await client.query("SELECT 1");
          const current = await opts.lease.leaseEpoch();
          if (current === epoch) return epoch;
          // Someone took the lease although we hold the lock (a transaction pooler): step down.
          opts.logger.error({ lock: key, epoch, current }, "lease taken by another instance; stepping down");
          await drop();
          return undefined;
        }
        const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [key]);
        if (rows[0]?.ok === true) {
          epoch = await opts.lease.acquireLease(holder);
          opts.logger.info({ lock: key, epoch }, "leading: this instance pushes contacts");
          announcedStandby = false;
        } else if (!announcedStandby) {
          opts.logger.info({ lock: key }, "standby: another sink instance pushes contacts");
          announcedStandby = true;
        }
        return epoch;
      } catch (error) {
        opts.logger.warn({ err: error }, "leader lock connection lost; not pushing until it is back");
        await drop();
        return undefined;
      }
    },
    release: drop,
  };
}
