import { describe, expect, it } from "vitest";
import { parseChaosArgs, replayCommand } from "./args.ts";

describe("pnpm chaos arguments", () => {
  it("defaults to the small preset with a clock seed", () => {
    const r = parseChaosArgs([], 1234);
    expect(r).toMatchObject({ ok: true, options: { size: "small", seed: 1234, deliveries: 3000, kills: 3 } });
  });

  it("full meets the issue's targets: 200,000 deliveries, 20 kills per service, 3 broker and 3 Postgres kills, a rebuild", () => {
    const r = parseChaosArgs(["--size", "full"]);
    expect(r).toMatchObject({
      ok: true,
      options: { deliveries: 200_000, kills: 20, brokerKills: 3, postgresKills: 3, rebuilds: 1 },
    });
  });

  it("lets every knob override the preset", () => {
    const r = parseChaosArgs([
      "--size",
      "full",
      "--seed",
      "9",
      "--duration",
      "120",
      "--kills",
      "2",
      "--logs",
      "/tmp/x",
    ]);
    expect(r).toMatchObject({ ok: true, options: { seed: 9, durationMs: 120_000, kills: 2, logs: "/tmp/x" } });
  });

  it("refuses bad values and unknown options with a message, and answers --help", () => {
    expect(parseChaosArgs(["--size", "huge"])).toEqual({
      ok: false,
      help: false,
      error: "--size: small or full, not huge",
    });
    expect(parseChaosArgs(["--kills", "1.5"])).toEqual({ ok: false, help: false, error: "--kills: an integer >= 0" });
    expect(parseChaosArgs(["--duration", "0"])).toMatchObject({ ok: false, error: "--duration: an integer >= 1" });
    expect(parseChaosArgs(["--nope"])).toMatchObject({ ok: false, help: false });
    expect(parseChaosArgs(["--help"])).toEqual({ ok: false, help: true });
  });

  it("prints a replay command that parses back to the same run", () => {
    const first = parseChaosArgs(["--size", "full", "--seed", "77"]);
    if (!first.ok) throw new Error("parse");
    const again = parseChaosArgs(replayCommand(first.options).split(" ").slice(2), 0);
    if (!again.ok) throw new Error("parse");
    expect({ ...again.options, size: first.options.size }).toEqual(first.options);
  });
});
