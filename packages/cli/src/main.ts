import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { commands as sinkCommands } from "@sbs/brevo-sink/commands";
import { commands as ingestCommands } from "@sbs/ingest/commands";
import { commandDepsFromEnv } from "@sbs/ingest/commands/deps-from-env";
import { commands as projectorCommands } from "@sbs/projector/commands";
import { FOLD_USAGE, monthIndexOf, parseFoldArgs, runFold } from "@sbs/projector/fold-cli";
import { ConfigError } from "@sbs/shared";
import { commandEnv } from "./command-env.ts";
import { runCompactLog } from "./compact-log/command.ts";
import { runDashboard } from "./dashboard/command.ts";
import { runDemo } from "./demo/command.ts";
import { runErase } from "./erase/command.ts";
import { runGenerations } from "./generations/command.ts";
import { runMigrate } from "./migrate/command.ts";
import { runRedrive } from "./redrive/command.ts";
import { runPipeline } from "./start/pipeline.ts";
import { collectStatus, formatStatus } from "./status/status.ts";

/**
 * `pnpm cli <command>`: one entry point for every operator command. Exit codes: 0 ok, 1 failure,
 * 2 usage error. Output meant for pipes goes to stdout; progress and diagnostics to stderr.
 */

interface CliCommand {
  summary: string;
  run(argv: string[]): Promise<number>;
}

/**
 * What the environment says, completed with the local stack `pnpm stack:up`/`pnpm start` runs
 * here. `start` and `status` take process.env: they find (or start) the stack themselves.
 */
const env = commandEnv(process.env);
const out = process.stdout;
const err = process.stderr;

const foldUsage = FOLD_USAGE;

const io = { out: (t: string) => out.write(t), err: (t: string) => err.write(t), env };

const fold: CliCommand = {
  summary: "Fold Stripe events from a file offline and print the per-customer read models",
  async run(argv) {
    if (argv.includes("--help") || argv.includes("-h")) {
      out.write(`${foldUsage}\n`);
      return 0;
    }
    const args = parseFoldArgs(argv);
    if (!args.ok) {
      err.write(`error: ${args.error}\n\n${foldUsage}\n`);
      return 2;
    }
    const { path, strict, options, history } = args;
    const input = path === "-" ? process.stdin : createReadStream(path);
    const opened = new Promise<void>((resolve, reject) => {
      if (path === "-") resolve();
      input.once("open", () => resolve());
      input.once("error", reject);
    });
    try {
      await opened;
    } catch (error) {
      err.write(`error: cannot read ${path}: ${(error as Error).message}\n`);
      return 1;
    }
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    const counts = await runFold(
      lines,
      (line) => out.write(`${line}\n`),
      (line) => err.write(`${line}\n`),
      options,
      // The clock is read here, at the edge: the fold itself has none.
      history ? { until: history.until ?? monthIndexOf(Date.now() / 1000) } : undefined,
    );
    err.write(
      `folded ${counts.folded} events${counts.skipped > 0 ? `, skipped ${counts.skipped} invalid lines` : ""}\n`,
    );
    return strict && counts.skipped > 0 ? 1 : 0;
  },
};

const stripeCommand = (name: keyof typeof ingestCommands): CliCommand => ({
  summary: ingestCommands[name].summary,
  async run(argv) {
    if (argv.includes("--help") || argv.includes("-h")) {
      out.write(`${ingestCommands[name].usage.trimEnd()}\n`);
      return 0;
    }
    return ingestCommands[name].run(argv, commandDepsFromEnv(env, out, err));
  },
});

const demo: CliCommand = {
  summary: "Generate a realistic Stripe history, preview its projections, and optionally deliver it to ingest",
  run: (argv) => runDemo(argv, { out: (t) => out.write(t), err: (t) => err.write(t), env, isTTY: err.isTTY === true }),
};

const sinkCommand = (name: keyof typeof sinkCommands): CliCommand => ({
  summary: sinkCommands[name].summary.replace(/^./, (c) => c.toUpperCase()),
  run: (argv) => sinkCommands[name].run(argv, { env, out, err }),
});

const rebuild: CliCommand = {
  summary: projectorCommands.rebuild.summary,
  run: (argv) => projectorCommands.rebuild.run(argv, { env, out, err }),
};

const acceptGap: CliCommand = {
  summary: projectorCommands["accept-gap"].summary,
  run: (argv) => projectorCommands["accept-gap"].run(argv, { env, out, err }),
};

const start: CliCommand = {
  summary: "Run the whole pipeline locally: stack, ingest, projector and brevo-sink (fake Brevo without BREVO_API_KEY)",
  run: (argv) => {
    if (argv.includes("--help") || argv.includes("-h")) {
      out.write(
        "usage: pnpm start   (= pnpm cli start)\n\nStarts the stack, then ingest, projector and brevo-sink as three processes, and prints\nwhere everything is. Without BREVO_API_KEY the sink talks to a local fake Brevo. Ctrl-C stops.\n",
      );
      return Promise.resolve(0);
    }
    return runPipeline(process.env, (line) => err.write(`[pipeline] ${line}\n`));
  },
};

const status: CliCommand = {
  summary: "Show the stack, projector (customers, lag, dead letters) and sink (contacts, backlog, failures)",
  async run(argv) {
    if (argv.includes("--help") || argv.includes("-h")) {
      out.write(
        "usage: pnpm cli status [--json]\n\nExit code 0 when the stack is healthy, no dead letter is pending and no partition is halted; 1 otherwise.\n",
      );
      return 0;
    }
    const report = await collectStatus(process.env);
    out.write(argv.includes("--json") ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
    const pending = (report.projector?.deadLetters.pending ?? 0) > 0;
    const halted = report.projector?.partitions.some((p) => p.halted) ?? false;
    return report.stack.healthy && !pending && !halted ? 0 : 1;
  },
};

const dashboard: CliCommand = {
  summary: "A local web dashboard: health, throughput and lag, problems, what the sink will send, MRR",
  run: (argv) => runDashboard(argv, { out: (t) => out.write(t), err: (t) => err.write(t), env }),
};

const commands: Record<string, CliCommand> = {
  start,
  status,
  dashboard,
  demo,
  fold,
  backfill: stripeCommand("backfill"),
  "catch-up": stripeCommand("catch-up"),
  "setup-webhook": stripeCommand("setup-webhook"),
  // --brevo: the sink's live Brevo self-test; otherwise the Stripe key check.
  "test-connection": {
    summary: "Check the Stripe key and its permissions; with --brevo, a live self-test of Brevo",
    run: (argv) =>
      argv.includes("--brevo") ? sinkCommand("test-connection").run(argv) : stripeCommand("test-connection").run(argv),
  },
  rebuild,
  "accept-gap": acceptGap,
  redrive: {
    summary: "Put dead letters back on the topic they came from (after fixing their cause)",
    run: (argv) => runRedrive(argv, { out: (t) => out.write(t), err: (t) => err.write(t), env }),
  },
  migrate: {
    summary: "Apply the projector's and the sink's migrations as the owner role (DATABASE_URL)",
    run: (argv) => runMigrate(argv, io),
  },
  erase: {
    summary: "Erase a customer (id or email): erasure list, every generation, sink state and the Brevo contact",
    run: (argv) => runErase(argv, io),
  },
  "compact-log": {
    summary: "Copy the event topic without erased customers (--dry-run counts), rebuild from the copy and switch",
    run: (argv) => runCompactLog(argv, io),
  },
  generations: {
    summary: "List projection generations; drop them, or prune retired ones past retention and scrub the kept",
    run: (argv) => runGenerations(argv, io),
  },
  plan: sinkCommand("plan"),
  resync: sinkCommand("resync"),
  verify: sinkCommand("verify"),
};

function help(): string {
  const width = Math.max(...Object.keys(commands).map((n) => n.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: pnpm cli <command> [options]   (pnpm cli <command> --help for details)\n\ncommands:\n${lines.join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    out.write(help());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    err.write(`error: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    err.write(
      `error: ${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
