import type { Logger, Pool } from "@sbs/shared";
import type { ErasedIds } from "../domain/index.ts";
import { idDigest } from "./digest.ts";

/**
 * The projector's view of the erasure list (table erased_id, migration 0004): loaded at start and
 * reloaded when `pnpm cli erase` adds to it (checked every `refreshMs`). Consulted on every decoded
 * event (consumer/decode-record.ts); with nothing erased the check costs nothing.
 */
export interface ErasureList extends ErasedIds {
  /** Loads the list now when it changed (at start, and before a rebuild switches). */
  refresh(): Promise<void>;
  /** Keeps refreshing every `refreshMs` until stop(). */
  start(): void;
  stop(): void;
  /** Events recognised as naming an erased id since start (for logs and metrics). */
  readonly skipped: number;
  /** The digests loaded (for the rebuild's switch-time purge). */
  digests(): string[];
}

export function createErasureList(pool: Pool, opts: { refreshMs: number; logger: Logger }): ErasureList {
  let digests = new Set<string>();
  let version = "";
  let skipped = 0;
  let timer: NodeJS.Timeout | undefined;

  const refresh = async () => {
    let current: string;
    try {
      const { rows } = await pool.query<{ v: string | null; n: string }>(
        "SELECT max(id)::text AS v, (SELECT count(*) FROM erased_id)::text AS n FROM erasure_request",
      );
      current = `${rows[0]?.v ?? ""}/${rows[0]?.n ?? "0"}`;
    } catch (error) {
      // Not migrated yet (MIGRATE_ON_START=false on a schema before 0004): nothing can be erased.
      if ((error as { code?: string }).code === "42P01") return;
      throw error;
    }
    if (current === version) return;
    const { rows } = await pool.query<{ id_hash: string }>("SELECT id_hash FROM erased_id");
    digests = new Set(rows.map((r) => r.id_hash));
    version = current;
    opts.logger.info({ erasedIds: digests.size }, "erasure list loaded");
  };

  return {
    get empty() {
      return digests.size === 0;
    },
    has(id) {
      const hit = digests.has(idDigest(id));
      if (hit) skipped++;
      return hit;
    },
    get skipped() {
      return skipped;
    },
    digests: () => [...digests],
    refresh,
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        refresh().catch((error: unknown) =>
          opts.logger.warn({ err: error }, "reloading the erasure list failed; trying again"),
        );
      }, opts.refreshMs);
      timer.unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
