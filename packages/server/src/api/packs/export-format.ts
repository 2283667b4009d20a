/**
 * Streaming export formats for scheduled results. Each line is built as the database pages arrive,
 * so an export of millions of rows holds one page in memory.
 *
 * CSV cells that a spreadsheet would run as a formula (leading =, +, -, @, tab or carriage return)
 * get a leading apostrophe (OWASP "CSV Injection"): osquery rows carry attacker-influenced text such
 * as process command lines and file names.
 */
import { Readable } from 'node:stream';
import type { ResultItem } from '../../services/results/results.service.js';
import { presentResult } from './packs.presenters.js';

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: string | number): string {
  let s = String(value);
  if (typeof value === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) || s !== String(value) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const CSV_HEADER = ['id', 'time', 'unix_time', 'host_id', 'hostname', 'pack', 'query', 'name', 'action', 'columns', 'ecs'];

/** One CSV line per row; the row's columns (and ECS document) as JSON in one cell each. */
export function csvLine(r: ResultItem): string {
  const p = presentResult(r);
  return `${[p.id, p.time, p.unixTime, p.hostId, p.hostname, p.pack, p.query, p.name, p.action, JSON.stringify(p.columns), p.ecs === null ? '' : JSON.stringify(p.ecs)]
    .map(csvCell)
    .join(',')}\r\n`;
}

export function csvStream(rows: AsyncIterable<ResultItem>): Readable {
  return Readable.from((async function* () {
    yield `${CSV_HEADER.join(',')}\r\n`;
    for await (const r of rows) yield csvLine(r);
  })());
}

/** One JSON object per line: exactly an item of GET /results. */
export function ndjsonStream(rows: AsyncIterable<ResultItem>): Readable {
  return Readable.from((async function* () {
    for await (const r of rows) yield `${JSON.stringify(presentResult(r))}\n`;
  })());
}
