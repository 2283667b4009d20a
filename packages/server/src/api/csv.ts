/**
 * The one CSV writer of the operator API (host, scheduled-result and live-result exports).
 * RFC 4180: CRLF after every record; a field with a comma, quote, CR, LF or surrounding spaces is
 * quoted with inner quotes doubled.
 *
 * Exported data is attacker-influenced (a hostname is whatever the machine says; osquery rows carry
 * command lines and file names), so a text cell a spreadsheet would run as a formula, one starting
 * with = + - @ or a tab/CR some spreadsheets skip before one, gets a leading `'` and is quoted
 * (OWASP "CSV Injection"). Plain numbers ("-1", "+5", "-1.5e3") are data, not formulas, and stay
 * as they are: osquery sends every column as a string.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** One field: null/undefined empty, numbers and booleans as written, objects and lists as JSON. */
export function csvCell(v: unknown): string {
  let s: string;
  if (v === null || v === undefined) s = '';
  else if (typeof v === 'string') s = v;
  else if (typeof v === 'number') s = Number.isFinite(v) ? String(v) : '';
  else if (typeof v === 'boolean') s = String(v);
  else s = JSON.stringify(v);
  const guarded = FORMULA_START.test(s) && !PLAIN_NUMBER.test(s);
  if (guarded) s = `'${s}`;
  return guarded || /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One record, CRLF-terminated. */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}
