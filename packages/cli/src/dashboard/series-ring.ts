/**
 * The dashboard's memory: a bounded ring of timed points per series (the last hour at the
 * sampling interval), so the process never grows and needs no database of its own.
 */
export interface SeriesRing {
  push(at: number, values: Readonly<Record<string, number | null>>): void;
  /** Columns for a chart: times (unix seconds) and one array per series, null where a series had no point. */
  columns(names?: readonly string[]): { times: number[]; series: Record<string, (number | null)[]> };
  readonly size: number;
}

export function createSeriesRing(capacity: number): SeriesRing {
  if (!Number.isInteger(capacity) || capacity < 1)
    throw new Error(`capacity must be a positive integer, got ${capacity}`);
  const points: { at: number; values: Readonly<Record<string, number | null>> }[] = [];
  let start = 0;
  return {
    push(at, values) {
      if (points.length < capacity) points.push({ at, values });
      else {
        points[start] = { at, values };
        start = (start + 1) % capacity;
      }
    },
    columns(names) {
      const ordered = [...points.slice(start), ...points.slice(0, start)];
      const keys = names ?? [...new Set(ordered.flatMap((p) => Object.keys(p.values)))].sort();
      const series: Record<string, (number | null)[]> = {};
      for (const key of keys) series[key] = ordered.map((p) => p.values[key] ?? null);
      return { times: ordered.map((p) => Math.round(p.at / 1000)), series };
    },
    get size() {
      return points.length;
    },
  };
}

/** Per-second rate of a counter between two readings; null on the first reading or after a restart (reset). */
export function rate(previous: { at: number; value: number } | undefined, at: number, value: number): number | null {
  if (previous === undefined || at <= previous.at || value < previous.value) return null;
  return (value - previous.value) / ((at - previous.at) / 1000);
}
