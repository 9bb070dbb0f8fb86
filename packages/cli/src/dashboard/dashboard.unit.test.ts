import { describe, expect, it } from "vitest";
import { parsePrometheusText, sum } from "./prom-text.ts";
import { createSeriesRing, rate } from "./series-ring.ts";

const TEXT = `# HELP ingest_webhooks_accepted_total accepted
# TYPE ingest_webhooks_accepted_total counter
ingest_webhooks_accepted_total{type="charge.succeeded",outcome="stored"} 12
ingest_webhooks_accepted_total{type="invoice.upcoming",outcome="not_stored"} 3
ingest_webhooks_rejected_total{reason="signature_mismatch"} 2
brevo_sink_brevo_responses{endpoint="POST /contacts/import",status="202"} 4
weird{label="a \\"quoted\\" value"} 1
process_start_time_seconds 1700000000
not a sample line
`;

describe("parsePrometheusText", () => {
  it("reads names, labels (escaped quotes too) and values; skips comments and junk", () => {
    const samples = parsePrometheusText(TEXT);
    expect(samples).toHaveLength(6);
    expect(samples.find((s) => s.name === "weird")?.labels).toEqual({ label: 'a "quoted" value' });
    expect(sum(samples, "ingest_webhooks_accepted_total")).toBe(15);
    expect(sum(samples, "ingest_webhooks_accepted_total", { outcome: "stored" })).toBe(12);
    expect(sum(samples, "brevo_sink_brevo_responses", { status: "202" })).toBe(4);
    expect(sum(samples, "absent_total")).toBeUndefined();
  });
});

describe("createSeriesRing", () => {
  it("keeps the last `capacity` points in time order, with nulls where a series had none", () => {
    const ring = createSeriesRing(3);
    ring.push(1000, { a: 1 });
    ring.push(2000, { a: 2, b: 20 });
    ring.push(3000, { a: 3 });
    ring.push(4000, { a: 4, b: 40 });
    expect(ring.size).toBe(3);
    expect(ring.columns()).toEqual({ times: [2, 3, 4], series: { a: [2, 3, 4], b: [20, null, 40] } });
    expect(ring.columns(["b"]).series).toEqual({ b: [20, null, 40] });
  });

  it("refuses a capacity that is not a positive integer", () => {
    expect(() => createSeriesRing(0)).toThrow("capacity must be a positive integer");
  });
});

describe("rate", () => {
  it("is the per-second increase, null on the first reading or a counter reset", () => {
    expect(rate(undefined, 1000, 5)).toBeNull();
    expect(rate({ at: 1000, value: 5 }, 3000, 25)).toBe(10);
    expect(rate({ at: 1000, value: 50 }, 3000, 2)).toBeNull();
  });
});
