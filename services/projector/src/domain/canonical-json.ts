/**
 * JSON with object keys sorted, so two equal values always give the same string whatever the
 * key order they arrived in. Used as the last, stable tie-break between two snapshots of one
 * object taken in the same second (never arrival order).
 */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== "object") {
    // `undefined` (absent optional field) and null must compare equal to keep the key stable.
    return value === undefined ? "null" : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
};

/** Plain code-unit comparison: locale-independent, so every machine orders the same way. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
