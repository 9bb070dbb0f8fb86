/**
 * Lets one log line per key through per interval and counts the rest, so an incident (Kafka down,
 * overload: thousands of identical warnings a second) is visible without the logging itself
 * eating the CPU the service is short of.
 */
export function createLogThrottle(intervalMs: number, now: () => number = Date.now) {
  const state = new Map<string, { last: number; suppressed: number }>();
  return (key: string, log: (suppressed: number) => void): void => {
    const t = now();
    const entry = state.get(key);
    if (entry && t - entry.last < intervalMs) {
      entry.suppressed++;
      return;
    }
    log(entry?.suppressed ?? 0);
    state.set(key, { last: t, suppressed: 0 });
  };
}
