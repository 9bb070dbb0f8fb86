import { AppError, type Logger } from "@sbs/shared";
import type { BrevoTransport } from "./adapters/brevo-transport.ts";
import type { SinkState } from "./adapters/sink-state.ts";

/**
 * Before repairing contacts whose last write was never confirmed: wait until Brevo finished the
 * imports that carried it. Brevo applies an import asynchronously, so one started by a sink that
 * was killed can still be running; a repair sent before it ends would be undone by it (it re-adds
 * the lists the repair removed). An import that ended failed or that Brevo no longer knows cannot
 * apply anything any more. A timeout throws (retriable): the pass stops and runs again later.
 */
export async function awaitUnconfirmedImports(
  deps: { readonly state: SinkState; readonly transport: BrevoTransport; readonly logger: Logger },
  /** The contacts' in-flight marks (SinkState.inFlight): ext_id → import process id, if any. */
  marks: ReadonlyMap<string, number | null>,
): Promise<void> {
  const byProcess = new Map<number, string[]>();
  for (const [extId, processId] of marks) {
    if (processId !== null) byProcess.set(processId, [...(byProcess.get(processId) ?? []), extId]);
  }
  for (const [processId, ids] of byProcess) {
    deps.logger.info(
      { processId, contacts: ids.length },
      "waiting for an unconfirmed Brevo import to end before repair",
    );
    try {
      await deps.transport.awaitProcesses([processId]);
    } catch (error) {
      const over =
        error instanceof AppError && (error.code === "brevo_import_failed" || error.code === "brevo_refused");
      if (!over) throw error;
    }
    // Ended: later passes need not ask Brevo again (its process endpoints allow ~100 calls an hour).
    await deps.state.noteImport(ids, null);
  }
}
