/**
 * Streaming export formats for scheduled results. Each line is built as the database pages arrive,
 * so an export of millions of rows holds one page in memory.
 * CSV cells go through the shared writer (../csv.ts) and its spreadsheet-formula guard.
 */
import { Readable } from 'node:stream';
import type { ResultItem } from '../../services/results/results.service.js';
import { csvLine } from '../csv.js';
import { presentResult } from './packs.presenters.js';

export const CSV_HEADER = ['id', 'time', 'unix_time', 'host_id', 'hostname', 'pack', 'query', 'name', 'action', 'columns', 'ecs'];

/** One CSV line per row; the row's columns (and ECS document) as JSON in one cell each. */
export function resultCsvLine(r: ResultItem): string {
  const p = presentResult(r);
  return csvLine([p.id, p.time, p.unixTime, p.hostId, p.hostname, p.pack, p.query, p.name, p.action, JSON.stringify(p.columns), p.ecs === null ? '' : JSON.stringify(p.ecs)]);
}

export function csvStream(rows: AsyncIterable<ResultItem>): Readable {
  return Readable.from((async function* () {
    yield csvLine(CSV_HEADER);
    for await (const r of rows) yield resultCsvLine(r);
  })());
}

/** One JSON object per line: exactly an item of GET /results. */
export function ndjsonStream(rows: AsyncIterable<ResultItem>): Readable {
  return Readable.from((async function* () {
    for await (const r of rows) yield `${JSON.stringify(presentResult(r))}\n`;
  })());
}
