import { randomBytes } from "node:crypto";
import type { Admin } from "kafkajs";
import pg from "pg";
import { inject } from "vitest";

/** Helpers for integration tests (`*.int.test.ts`): per-file isolation on the shared real stack. */

export interface TestStack {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  /** The projector's and the sink's DML-only login roles (infra/stack/roles.ts), when the stack has them. */
  serviceDatabaseUrls?: { projector: string; sink: string };
  versions: { kafka: string; registry: string; postgres: string };
}

/** The stack the global setup found or started (infra/stack/vitest-global-setup.ts). */
export function testStack(): TestStack {
  return inject("stack");
}

/** A name no other test file or earlier run uses: topics, groups, subjects. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/** A fresh Postgres schema for one test file; `drop()` removes it and everything in it. */
export async function isolatedSchema(databaseUrl: string): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = uniqueName("t").replaceAll("-", "_");
  await withClient(databaseUrl, (c) => c.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`));
  return {
    schema,
    drop: () =>
      withClient(databaseUrl, (c) => c.query(`DROP SCHEMA ${pg.escapeIdentifier(schema)} CASCADE`)).then(() => {}),
  };
}

export async function withClient<T>(databaseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Polls until `check` returns a value other than undefined, or fails with `what` after the timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resolves when a consumer group has committed up to the end of every partition of a topic,
 * i.e. it has caught up with everything produced so far.
 */
export async function waitForGroupCaughtUp(admin: Admin, groupId: string, topic: string, timeoutMs = 30_000) {
  return waitFor(
    `consumer group ${groupId} to catch up on ${topic}`,
    async () => {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId, topics: [topic] }),
      ]);
      const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
      // -1 means "nothing committed": an empty partition (low == high) is caught up all the same.
      const position = (end: (typeof ends)[number]) => Math.max(done.get(end.partition) ?? -1, Number(end.low));
      const lagging = ends.filter((end) => position(end) < Number(end.high));
      return lagging.length === 0 ? true : undefined;
    },
    timeoutMs,
  );
}
