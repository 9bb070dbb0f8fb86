import { type Ratio, roundHalfAwayFromZero } from "./ratio.ts";

/**
 * Amounts per currency: lower-case ISO code → integer minor units (cents, yen, fils…). Never
 * converted to major units here; that happens only at the Brevo edge.
 */
export type Money = Readonly<Record<string, number>>;

const sortedKeys = <V>(map: ReadonlyMap<string, V>): string[] =>
  [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** Builds a Money with keys in code order, so its JSON is the same whatever order sums ran in. */
export const moneyFromMap = (map: ReadonlyMap<string, number>): Money => {
  const out: Record<string, number> = {};
  for (const key of sortedKeys(map)) out[key] = map.get(key) ?? 0;
  return out;
};

export const moneyFromRatios = (map: ReadonlyMap<string, Ratio>): Money => {
  const out: Record<string, number> = {};
  for (const key of sortedKeys(map)) {
    const value = map.get(key);
    if (value !== undefined) out[key] = roundHalfAwayFromZero(value);
  }
  return out;
};

export const addTo = (map: Map<string, number>, currency: string, amount: number): void => {
  map.set(currency, (map.get(currency) ?? 0) + amount);
};
