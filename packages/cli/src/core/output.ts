/**
 * Output: data on stdout as a table (default), JSON or CSV; messages on stderr. Colours only when
 * the stream is a terminal, never with NO_COLOR (https://no-color.org) or --no-color.
 */

export type Format = 'table' | 'json' | 'csv';
export const FORMATS: readonly Format[] = ['table', 'json', 'csv'];

export interface Stream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  out: Stream;
  err: Stream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export type Style = 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan';
const CODES: Record<Style, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22], cyan: [36, 39] };

export function colorEnabled(stream: Stream, env: NodeJS.ProcessEnv, flag: boolean): boolean {
  if (!flag) return false;
  const no = env['NO_COLOR'];
  if (no !== undefined && no !== '') return false;
  if (env['TERM'] === 'dumb') return false;
  return stream.isTTY === true;
}

export function paint(on: boolean, style: Style, text: string): string {
  if (!on || text === '') return text;
  const [a, b] = CODES[style];
  return `\u001b[${a}m${text}\u001b[${b}m`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
export const visibleLength = (s: string) => s.replace(ANSI, '').length;

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
  style?: (text: string, row: T) => Style | undefined;
}

export function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  return String(v);
}

/** RFC 4180: quote when needed, double the quotes. Values are written as they are (no formula mangling). */
export function csvField(v: Cell): string {
  const s = cellText(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
export const csvLine = (cells: readonly Cell[]) => `${cells.map(csvField).join(',')}\r\n`;

/** Render rows as aligned columns (single-line cells; long ones cut on a terminal). */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], color: boolean, maxCell = 0): string {
  const flat = (s: string) => {
    const one = s.replace(/\r?\n/g, ' ↵ ');
    return maxCell > 0 && one.length > maxCell ? `${one.slice(0, maxCell - 1)}…` : one;
  };
  const cells = rows.map((r) => columns.map((c) => flat(cellText(c.value(r)))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (parts: string[]) => parts.join('  ').replace(/\s+$/, '');
  const out = [line(columns.map((c, i) => paint(color, 'bold', c.header.padEnd(widths[i] ?? 0))))];
  rows.forEach((r, ri) => {
    out.push(line(columns.map((c, i) => {
      const text = cells[ri]?.[i] ?? '';
      const padded = text.padEnd(widths[i] ?? 0);
      const st = c.style?.(text, r);
      return st !== undefined ? paint(color, st, padded) : padded;
    })));
  });
  return `${out.join('\n')}\n`;
}

export interface Printer {
  format: Format;
  color: boolean;
  io: Io;
  /** A list: table rows, a JSON array (of `json` when given, else the rows), or CSV. */
  list<T>(rows: readonly T[], columns: readonly Column<T>[], json?: unknown): void;
  /** One object: `key  value` lines, the JSON object, or a one-row CSV. */
  object(fields: ReadonlyArray<[string, Cell]>, json: unknown): void;
  /** A JSON document on stdout only with --json (mutations print messages otherwise). */
  json(value: unknown): void;
  /** A message for people on stderr. */
  say(text: string, style?: Style): void;
  warn(text: string): void;
}

export function makePrinter(io: Io, format: Format, colorFlag: boolean): Printer {
  const color = colorEnabled(io.out, io.env, colorFlag);
  const errColor = colorEnabled(io.err, io.env, colorFlag);
  const maxCell = io.out.isTTY === true ? Math.max(40, Math.floor((io.out.columns ?? 120) * 0.6)) : 0;
  return {
    format, color, io,
    list(rows, columns, json) {
      if (format === 'json') io.out.write(`${JSON.stringify(json ?? rows, null, 2)}\n`);
      else if (format === 'csv') {
        io.out.write(csvLine(columns.map((c) => c.header)));
        for (const r of rows) io.out.write(csvLine(columns.map((c) => c.value(r))));
      } else io.out.write(renderTable(rows, columns, color, maxCell));
    },
    object(fields, json) {
      if (format === 'json') io.out.write(`${JSON.stringify(json, null, 2)}\n`);
      else if (format === 'csv') {
        io.out.write(csvLine(fields.map(([k]) => k)));
        io.out.write(csvLine(fields.map(([, v]) => v)));
      } else {
        const w = Math.max(0, ...fields.map(([k]) => k.length));
        for (const [k, v] of fields) io.out.write(`${paint(color, 'bold', k.padEnd(w))}  ${cellText(v).replace(/\n/g, `\n${' '.repeat(w + 2)}`)}\n`);
      }
    },
    json(value) {
      if (format === 'json') io.out.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    say(text, style) {
      io.err.write(`${style !== undefined ? paint(errColor, style, text) : text}\n`);
    },
    warn(text) {
      io.err.write(`${paint(errColor, 'yellow', 'warning:')} ${text}\n`);
    },
  };
}

/** ISO time as `YYYY-MM-DD HH:MM:SS` UTC for tables (JSON keeps the ISO string). */
export function shortTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');
}
