/**
 * Postgres errors caused by the data itself, not by the database's state: SQLSTATE class 22
 * (data exception: a value out of range, an invalid text representation, an unsupported Unicode
 * escape) and class 23 (integrity constraint violation). Retrying them gives the same answer
 * forever, so they are poison for the record that carries the data. Everything else (connection
 * loss, 40001 serialization, 53xxx resources, 57xxx shutdown) is transient.
 */
export function deterministicSqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return code.startsWith("22") || code.startsWith("23") ? code : undefined;
}
