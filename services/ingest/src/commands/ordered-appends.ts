/**
 * Runs appends with limited concurrency and reports them as committed strictly in submission
 * order: an item is committed once it and every item before it were acknowledged. A cursor
 * advanced from `onCommit` therefore never passes an item whose append has not landed.
 */
export interface OrderedAppends<T> {
  /** Starts `work` for `item`; resolves once a concurrency slot is free (backpressure). */
  push(item: T, work: () => Promise<void>): Promise<void>;
  /** Waits for everything started; rejects with the first failure, if any. */
  drain(): Promise<void>;
  /** The first failure, once one happened: stop pushing. */
  readonly failure: { readonly error: unknown } | undefined;
  readonly inFlight: number;
}

interface Slot<T> {
  readonly item: T;
  state: "pending" | "acked" | "failed";
}

export function createOrderedAppends<T>(opts: {
  readonly concurrency: number;
  readonly onCommit: (item: T) => void;
}): OrderedAppends<T> {
  const slots: Slot<T>[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const waiting: (() => void)[] = [];

  const commit = () => {
    while (slots[0]?.state === "acked") {
      const slot = slots.shift();
      if (slot) opts.onCommit(slot.item);
    }
  };

  return {
    get failure() {
      return failure;
    },
    get inFlight() {
      return running.size;
    },
    async push(item, work) {
      while (running.size >= opts.concurrency) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      const slot: Slot<T> = { item, state: "pending" };
      slots.push(slot);
      const run = (async () => {
        try {
          await work();
          slot.state = "acked";
          commit();
        } catch (error) {
          slot.state = "failed";
          failure ??= { error };
        }
      })();
      running.add(run);
      void run.finally(() => {
        running.delete(run);
        waiting.shift()?.();
      });
    },
    async drain() {
      while (running.size > 0) await Promise.allSettled([...running]);
      if (failure) throw failure.error;
    },
  };
}
