import type { CustomerReadModel } from "../domain/read-model.ts";

export interface ProjectionPage {
  readonly rows: readonly CustomerReadModel[];
  /** Opaque position after the last row; pass it back to continue. */
  readonly cursor: string | undefined;
}

/**
 * Where the sink reads the customer read model. The projector owns the tables; the sink only
 * needs rows changed since a cursor (or all of them, from no cursor) and rows by id (retries).
 * A rebuild may rewrite every row without changing any value: the diff then finds nothing.
 */
export interface ProjectionSource {
  changedSince(cursor: string | undefined, limit: number): Promise<ProjectionPage>;
  byIds(customerIds: readonly string[]): Promise<CustomerReadModel[]>;
  /**
   * Where a pass should start reading, given the stored cursor: a source whose change stamps can
   * commit out of order re-reads a little (re-read rows diff to nothing, so it costs no Brevo call).
   */
  rewind?(cursor: string): string;
  /**
   * The projection's live generation (projector's `projection_pointer`): a change means a rebuild
   * was switched in, and the sink diffs everything (schedule.ts). Undefined when unknown.
   */
  generation?(): Promise<string | undefined>;
}

/** In memory, for tests and benchmarks: every `put` is a change, as a projector write would be. */
export function createMemoryProjectionSource(): ProjectionSource & {
  put(...models: CustomerReadModel[]): void;
  /** Switches the live generation (a rebuild switched in). */
  setGeneration(generation: string | undefined): void;
  readonly models: ReadonlyMap<string, CustomerReadModel>;
} {
  const models = new Map<string, CustomerReadModel>();
  const versions = new Map<string, number>();
  let version = 0;
  let live: string | undefined;
  return {
    models,
    setGeneration(generation) {
      live = generation;
    },
    async generation() {
      return live;
    },
    put(...list) {
      for (const m of list) {
        models.set(m.customerId, m);
        versions.set(m.customerId, ++version);
      }
    },
    async changedSince(cursor, limit) {
      const after = cursor === undefined ? 0 : Number(cursor);
      const changed = [...versions]
        .filter(([, v]) => v > after)
        .sort((a, b) => a[1] - b[1])
        .slice(0, limit);
      const last = changed[changed.length - 1];
      return {
        rows: changed.map(([id]) => models.get(id)).filter((m): m is CustomerReadModel => m !== undefined),
        cursor: last === undefined ? cursor : String(last[1]),
      };
    },
    async byIds(ids) {
      return ids.map((id) => models.get(id)).filter((m): m is CustomerReadModel => m !== undefined);
    },
  };
}
