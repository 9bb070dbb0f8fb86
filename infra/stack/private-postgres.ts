/**
 * A PostgreSQL cluster of one test's own, for faults the shared stack must never see: `kill -9`
 * of the whole cluster (postmaster, backends, WAL writer), which loses whatever asynchronous
 * commits were still in the WAL buffers, then a restart that runs crash recovery.
 *
 * initdb refuses to run as root, so the binaries run as the `postgres` OS user (setpriv execs
 * without forking: the spawned pid is the postmaster, leader of its own process group).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.ts";

const PG_ROOT = "/usr/lib/postgresql";

/** The newest installed PostgreSQL bin directory with initdb and postgres, if any. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, "bin", "initdb")) && existsSync(join(PG_ROOT, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], "bin");
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  readonly url: string;
  /** SIGKILL to the cluster's whole process group; resolves once the postmaster is gone. */
  kill9(): Promise<void>;
  /** Starts the cluster again on the same port (crash recovery runs first); resolves once it accepts connections. */
  restart(): Promise<void>;
  /** Fast shutdown, then removes the data directory. Safe after kill9. */
  stop(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /**
   * Extra `-c name=value` settings. The WAL writer flushes asynchronous commits every
   * wal_writer_delay; a long delay leaves more of them to lose on kill -9.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

export async function startPrivatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error(`no PostgreSQL binaries under ${PG_ROOT}/*/bin`);
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  const asPostgres = ["--reuid=postgres", "--regid=postgres", "--init-groups"];

  const base = mkdtempSync(join(tmpdir(), "sbs-private-pg-"));
  const data = join(base, "data");
  const sockets = join(base, "sock");
  mkdirSync(sockets);
  chownSync(base, uid, gid);
  chownSync(sockets, uid, gid);
  execFileSync(
    "setpriv",
    [...asPostgres, join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
    { stdio: "ignore" },
  );
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const settings = { listen_addresses: "127.0.0.1", fsync: "on", ...opts.settings };
  const args = [
    ...asPostgres,
    join(bin, "postgres"),
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    sockets,
    ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
  ];

  let postmaster: ChildProcess | undefined;
  const ready = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (postmaster && (postmaster.exitCode !== null || postmaster.signalCode !== null))
        throw new Error(`private postgres exited (${postmaster.exitCode ?? postmaster.signalCode}) during start`);
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`private postgres on ${port} did not start: ${String(error)}`);
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await client.end().catch(() => {});
      }
    }
  };
  const launch = async () => {
    // detached: its own process group, so kill9 reaches every backend and the WAL writer at once.
    postmaster = spawn("setpriv", args, { detached: true, stdio: "ignore" });
    await ready();
  };
  const signalGroup = async (signal: NodeJS.Signals) => {
    const child = postmaster;
    if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
    await exited(child);
  };

  await launch();
  return {
    url,
    async kill9() {
      await signalGroup("SIGKILL");
      // Backends notice a dead postmaster on their own; SIGKILL to the group got them already.
      // Wait until no process of the group is left, so the restart sees a free port and shared memory.
      const pid = postmaster?.pid;
      if (pid === undefined) return;
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(-pid, 0);
        } catch {
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    restart: launch,
    async stop() {
      await signalGroup("SIGINT");
      rmSync(base, { recursive: true, force: true });
    },
  };
}
