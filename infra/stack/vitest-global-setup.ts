import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { ensureTestStack } from "./index.ts";
import type { StackEndpoints } from "./types.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackEndpoints;
  }
}

/** Integration tests run against whatever `stack:up` would use; the banner says what that was. */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const say = (line: string) => console.log(`[stack] ${line}`);
  // Tests create topics with one replica on a one-broker stack; ensureTopics refuses that unless
  // told it is a single-node stack. Set before the test workers start, so they inherit it.
  process.env["KAFKA_SINGLE_NODE"] ??= "true";
  const { endpoints, teardown } = await ensureTestStack(process.env, say);
  const v = endpoints.versions;
  say(
    `integration tests run against (${endpoints.mode}): Apache Kafka ${v.kafka} at ${endpoints.kafkaBrokers.join(",")}, ${v.registry} at ${endpoints.schemaRegistryUrl}, PostgreSQL ${v.postgres}${endpoints.serviceDatabaseUrls ? " (services as their own DML-only roles)" : ""}`,
  );
  project.provide("stack", endpoints);
  return teardown;
}
