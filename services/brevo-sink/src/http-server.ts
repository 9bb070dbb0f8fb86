import { createInternalServer, type InternalServer } from "@sbs/shared";
import type { Registry } from "prom-client";
import type { PassHealth } from "./pass-loop.ts";

/**
 * The sink's internal port. `/healthz`: 200 while leading or standing by, 503 after a fatal error
 * (until a good pass), with the pass health as JSON. `/metrics`: metrics.ts, then the standard
 * process_* / nodejs_* metrics.
 */
export function createSinkHttpServer(health: () => Readonly<PassHealth>, registry: Registry): InternalServer {
  return createInternalServer({
    metrics: () => registry.metrics(),
    contentType: registry.contentType,
    health: () => {
      const h = health();
      return { ok: h.status !== "fatal", detail: { ...h } };
    },
  });
}
