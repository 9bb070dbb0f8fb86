import type { SinkEvent } from "../domain/events.ts";

export interface EventPage {
  readonly events: readonly SinkEvent[];
  readonly cursor: string | undefined;
}

/** Stripe events the sink may turn into Brevo custom events, in a stable order. */
export interface EventSource {
  since(cursor: string | undefined, limit: number): Promise<EventPage>;
}

export function createMemoryEventSource(): EventSource & { append(...events: SinkEvent[]): void } {
  const events: SinkEvent[] = [];
  return {
    append: (...list) => events.push(...list),
    async since(cursor, limit) {
      const start = cursor === undefined ? 0 : Number(cursor);
      const page = events.slice(start, start + limit);
      return { events: page, cursor: String(start + page.length) };
    },
  };
}

/** No event feed configured: custom events off. */
export const noEvents: EventSource = { since: async (cursor) => ({ events: [], cursor }) };
