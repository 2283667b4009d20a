/**
 * CSV for spreadsheet users (RFC 4180: CRLF line ends; fields with a comma, quote, CR or LF are
 * quoted and inner quotes doubled). Host data is attacker-influenced (a hostname is whatever the
 * machine says), so text cells that a spreadsheet would run as a formula — starting with = + - @,
 * or a tab/CR that some spreadsheets skip before one — get a leading apostrophe (OWASP "CSV
 * Injection").
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(cells: ReadonlyArray<string | number>): string {
  return cells.map(csvCell).join(',') + '\r\n';
}
