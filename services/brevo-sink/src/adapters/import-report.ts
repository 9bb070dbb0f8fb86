/**
 * Brevo's import failure report. `GET /processes/{id}` → `info.import.<kind>` is, per Brevo's
 * SDK, the URL of a CSV file listing the rows refused for that reason (invalid_emails,
 * duplicate_ext_id, duplicate_email_id…), or null. The CSV layout is not documented.
 * ASSUMPTION: a header line, then one line per refused row, with the row's email and/or ext_id
 * in columns named EMAIL / EXT_ID (any case; other columns ignored).
 *
 * Fail closed: anything that cannot be fully read (not a URL, a download that fails, a file without
 * an identifier column, a malformed line) makes the report unreadable, and the caller pushes the
 * whole chunk again one contact at a time. Never "no failures" by default.
 */

export type ImportReport =
  | { readonly ok: true; readonly named: ReadonlySet<string> }
  | { readonly ok: false; readonly reason: string };

const IDENTIFIER_COLUMNS = new Set(["email", "ext_id", "extid"]);

export async function readImportReport(
  info: Readonly<Record<string, string | null | undefined>>,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<ImportReport> {
  const named = new Set<string>();
  for (const [kind, value] of Object.entries(info)) {
    if (value === null || value === undefined || value === "") continue;
    if (!/^https?:\/\//.test(value)) return { ok: false, reason: `${kind}: not a report URL: ${value.slice(0, 80)}` };
    let text: string;
    try {
      // No api-key: the report may live on another host (a file store); it must not get the key.
      const response = await fetchFn(value, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) return { ok: false, reason: `${kind}: report download answered HTTP ${response.status}` };
      text = await response.text();
    } catch (error) {
      return { ok: false, reason: `${kind}: report download failed: ${(error as Error).message}` };
    }
    const ids = parseReportCsv(text);
    if (!ids.ok) return { ok: false, reason: `${kind}: ${ids.reason}` };
    for (const id of ids.identifiers) named.add(id);
  }
  return { ok: true, named };
}

/** Identifiers (lower-cased emails, ext_ids as they are) named in one report file. */
export function parseReportCsv(text: string): { ok: true; identifiers: string[] } | { ok: false; reason: string } {
  const lines = parseCsv(text.replace(/^\uFEFF/, ""));
  if (lines === undefined) return { ok: false, reason: "malformed CSV (unbalanced quotes)" };
  const [header, ...rows] = lines.filter((l) => !(l.length === 1 && l[0] === ""));
  if (header === undefined) return { ok: false, reason: "empty report (no header line)" };
  const columns = header.map((h, i) => [h.trim().toLowerCase(), i] as const).filter(([h]) => IDENTIFIER_COLUMNS.has(h));
  if (columns.length === 0) return { ok: false, reason: `no EMAIL or EXT_ID column in header: ${header.join(",")}` };
  const identifiers: string[] = [];
  for (const [n, row] of rows.entries()) {
    if (row.length !== header.length)
      return { ok: false, reason: `line ${n + 2}: ${row.length} fields, header has ${header.length}` };
    const found = columns.map(([h, i]) =>
      h === "email" ? (row[i] ?? "").trim().toLowerCase() : (row[i] ?? "").trim(),
    );
    if (found.every((v) => v === "")) return { ok: false, reason: `line ${n + 2}: no identifier` };
    for (const v of found) if (v !== "") identifiers.push(v);
  }
  return { ok: true, identifiers };
}

/** RFC 4180 fields (quotes, doubled quotes, CRLF or LF); undefined when a quote is left open. */
function parseCsv(text: string): string[][] | undefined {
  const lines: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      lines.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (quoted) return undefined;
  if (field !== "" || row.length > 0) {
    row.push(field);
    lines.push(row);
  }
  return lines;
}
