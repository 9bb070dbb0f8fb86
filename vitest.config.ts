import { defineConfig } from "vitest/config";

/**
 * Two tiers, told apart by file name:
 *   *.unit.test.ts  pure logic, no stack, run in parallel
 *   *.int.test.ts   real Kafka, schema registry and PostgreSQL, found or started by the global setup
 *   *.e2e.test.ts   the three services as processes, end to end, on the same real stack
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          // Pure tests first: they fail fast and need no stack.
          sequence: { groupOrder: 0 },
          include: ["{packages,services,infra}/**/*.unit.test.ts"],
          exclude: ["**/node_modules/**"],
        },
      },
      {
        test: {
          name: "int",
          sequence: { groupOrder: 1 },
          include: ["{packages,services,infra}/**/*.int.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["./infra/stack/vitest-global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Two cores share the broker, the registry and the test workers.
          maxWorkers: 2,
        },
      },
      {
        test: {
          name: "e2e",
          sequence: { groupOrder: 2 },
          include: ["{packages,services,infra}/**/*.e2e.test.ts"],
          exclude: ["**/node_modules/**"],
          globalSetup: ["./infra/stack/vitest-global-setup.ts"],
          testTimeout: 240_000,
          hookTimeout: 180_000,
          // The services under test are processes of their own; one pipeline at a time.
          maxWorkers: 1,
        },
      },
    ],
  },
});
