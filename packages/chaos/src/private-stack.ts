import { type PrivateKafka, startPrivateKafka } from "@sbs/infra/private-kafka";
import { type PrivatePostgres, startPrivatePostgres } from "@sbs/infra/private-postgres";
import { type PrivateRegistry, startPrivateRegistry } from "@sbs/infra/private-registry";

/**
 * The harness's own broker, registry and PostgreSQL cluster: everything it kills is its own, the
 * shared stack is never touched. The registry stores its schemas in a topic of the private broker
 * (so a Postgres kill leaves it alone); after a broker restart it is checked and, if it stopped
 * answering, restarted like any other supervised process.
 */
export interface PrivateStack {
  readonly kafka: PrivateKafka;
  readonly registry: PrivateRegistry;
  readonly postgres: PrivatePostgres;
  /** kill -9 of the broker, `downMs` of outage, start again (then the registry is looked at). */
  brokerOutage(downMs: number): Promise<void>;
  /** kill -9 of the whole cluster, `downMs` of outage, restart with crash recovery. */
  postgresOutage(downMs: number): Promise<void>;
  dispose(): Promise<void>;
}

export async function startPrivateStack(
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<PrivateStack> {
  const kafka = await startPrivateKafka(env);
  say(`private broker on ${kafka.brokers.join(",")}`);
  const registry = await startPrivateRegistry(env, kafka.brokers).catch(async (error: unknown) => {
    await kafka.dispose();
    throw error;
  });
  say(`private registry on ${registry.url}`);
  // A short WAL writer delay left at its default would flush asynchronous commits within 200 ms;
  // 1 s leaves the projector's last commits to be lost on kill -9 (and replayed from Kafka).
  const postgres = await startPrivatePostgres({ settings: { wal_writer_delay: "1000", max_connections: "200" } }).catch(
    async (error: unknown) => {
      await registry.dispose();
      await kafka.dispose();
      throw error;
    },
  );
  say(`private PostgreSQL on ${postgres.url}`);
  return {
    kafka,
    registry,
    postgres,
    async brokerOutage(downMs) {
      await kafka.kill();
      await new Promise((r) => setTimeout(r, downMs));
      await kafka.start();
      // The registry rides out a broker outage on its in-memory copy; restart it if it did not.
      for (let i = 0; i < 20 && !(await registry.ready()); i++) await new Promise((r) => setTimeout(r, 500));
      if (!(await registry.ready())) {
        say("the registry stopped answering after the broker outage: restarting it");
        await registry.kill();
        await registry.start();
      }
    },
    async postgresOutage(downMs) {
      await postgres.kill9();
      await new Promise((r) => setTimeout(r, downMs));
      await postgres.restart();
    },
    async dispose() {
      await postgres.stop().catch(() => {});
      await registry.dispose().catch(() => {});
      await kafka.dispose().catch(() => {});
    },
  };
}
