/** One sample of a Prometheus text exposition: metric name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the text format the services serve on /metrics (prom-client's). Comments and lines that
 * are not samples are skipped: a scrape of a half-written or foreign page yields what it can.
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const value =
      valueText === "+Inf"
        ? Number.POSITIVE_INFINITY
        : valueText === "-Inf"
          ? Number.NEGATIVE_INFINITY
          : Number(valueText);
    if (Number.isNaN(value) && valueText !== "NaN") continue;
    const labels: Record<string, string> = {};
    for (const l of (labelText ?? "").matchAll(LABEL))
      labels[l[1] as string] = (l[2] as string).replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    samples.push({ name, labels, value });
  }
  return samples;
}

/** Sum of a metric's samples whose labels include `where`. */
export function sum(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
