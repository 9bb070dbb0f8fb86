import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { AppError } from "@sbs/shared";
import { z } from "zod";

/**
 * Resumable cursors of backfill and catch-up, one JSON file per command. Written atomically
 * (temp file in the same directory, fsync, rename), so a crash leaves the old or the new state,
 * never half of one. The mode is recorded so a test-mode cursor is never used with a live key.
 */

export const BACKFILL_RESOURCES = [
  "customers",
  "subscriptions",
  "charges",
  "invoices",
  "disputes",
  "products",
  "prices",
] as const;
export type BackfillResource = (typeof BACKFILL_RESOURCES)[number];

const mode = z.enum(["test", "live"]);

const resourceCursorSchema = z.object({
  /** Last object (in list order, newest first) whose snapshot and every one before it were acknowledged. */
  lastId: z.string().min(1).nullable(),
  /** Its `created`: the fallback anchor when `lastId` has been deleted meanwhile. */
  lastCreated: z.int().nullable(),
  done: z.boolean(),
  count: z.int().nonnegative(),
  updatedAt: z.string(),
});
export type ResourceCursor = z.output<typeof resourceCursorSchema>;

export const backfillStateSchema = z.object({
  kind: z.literal("stripe-backfill"),
  version: z.literal(1),
  mode,
  /** `created[gte]`, unix seconds. */
  since: z.int().nonnegative(),
  resources: z.partialRecord(z.enum(BACKFILL_RESOURCES), resourceCursorSchema),
});
export type BackfillState = z.output<typeof backfillStateSchema>;

export const catchUpStateSchema = z.object({
  kind: z.literal("stripe-catch-up"),
  version: z.literal(1),
  mode,
  /** Every event with `created` ≤ this (unix seconds) has been appended. */
  createdGt: z.int().nonnegative(),
  updatedAt: z.string(),
});
export type CatchUpState = z.output<typeof catchUpStateSchema>;

export interface StateFile<T> {
  readonly path: string;
  /** undefined when the file does not exist. */
  load(): Promise<T | undefined>;
  save(state: T): Promise<void>;
}

export function stateFile<S extends z.ZodType>(path: string, schema: S): StateFile<z.output<S>> {
  // Saves are chained so an older state can never land after a newer one.
  let saving: Promise<void> = Promise.resolve();
  return {
    path,
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new AppError("state_unreadable", `cannot read the state file ${path}`, { cause: error });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new AppError("state_invalid", `the state file ${path} is not JSON; delete it or pass --restart`, {
          cause,
        });
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const fields = parsed.error.issues.map((issue) => issue.path.map(String).join(".") || "(root)").join(", ");
        throw new AppError(
          "state_invalid",
          `the state file ${path} is not valid (${fields}); delete it or pass --restart`,
        );
      }
      return parsed.data;
    },
    save(state) {
      const text = `${JSON.stringify(state, null, 2)}\n`;
      const next = saving.then(() => writeAtomically(path, text));
      saving = next.catch(() => undefined);
      return next;
    },
  };
}

export async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new AppError("state_unwritable", `cannot write the state file ${path}`, { cause: error });
  }
}
