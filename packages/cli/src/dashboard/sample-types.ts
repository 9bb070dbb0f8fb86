import type { Sample } from "./prom-text.ts";

export interface Target {
  /** e.g. "ingest", "projector", "projector-2", "brevo-sink". */
  readonly name: string;
  readonly url: string;
}

export interface Scrape {
  readonly target: Target;
  readonly up: boolean;
  readonly samples: readonly Sample[];
  readonly error?: string;
}
