/**
 * The projector's read model, type only. @sbs/projector exports no `domain` subpath, so the type
 * is reached by path here, in one place; no projector code runs inside the sink.
 */
export type { CustomerReadModel } from "@sbs/projector/domain";
