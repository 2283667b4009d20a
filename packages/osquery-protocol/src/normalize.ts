/**
 * Turn validated osquery bodies into one canonical shape, whatever version sent them
 * (osquery-protocol.md §4, §5.2, §9). Everything here is pure: no I/O.
 */
import { isPlainObject, stripNul, toBoolean, toInteger, toText } from './coerce.js';
import { compileChecker, type Parsed } from './validate.js';
import {
  CarveBeginRequest, CarveBlockRequest, DistributedWriteRequest, EnrollRequest, LogRequest, NodeKeyRequest,
  ResultBatchLine, ResultEventLine, ResultSnapshotLine, StatusLine,
} from './wire.js';

export type RowValue = string | number | boolean | null;
export type ResultRow = Record<string, RowValue>;
export type RowAction = 'added' | 'removed' | 'snapshot';

export interface ResultRecord {
  name: string;
  hostIdentifier: string;
  calendarTime: string;
  unixTime: number;
  epoch: number;
  counter: number;
  numerics: boolean;
  decorations: Record<string, string>;
  /** Which of the three §4.2 layouts the line used. */
  format: 'event' | 'batch' | 'snapshot';
  rows: Array<{ action: RowAction; columns: ResultRow }>;
}

export interface StatusRecord {
  hostIdentifier: string;
  calendarTime: string;
  unixTime: number;
  severity: number;
  filename: string;
  line: number;
  message: string;
  version: string;
  decorations: Record<string, string>;
}

export type NormalizedLog = { type: 'result'; records: ResultRecord[] } | { type: 'status'; records: StatusRecord[] };

export const checkEnroll = compileChecker(EnrollRequest, 'body');
export const checkNodeKeyBody = compileChecker(NodeKeyRequest, 'body');
const checkLog = compileChecker(LogRequest, 'body');
const checkEvent = compileChecker(ResultEventLine, '');
const checkBatch = compileChecker(ResultBatchLine, '');
const checkSnapshot = compileChecker(ResultSnapshotLine, '');
const checkStatus = compileChecker(StatusLine, '');
const checkWrite = compileChecker(DistributedWriteRequest, 'body');
export const checkCarveBegin = compileChecker(CarveBeginRequest, 'body');
export const checkCarveBlock = compileChecker(CarveBlockRequest, 'body');

const RESULT_KEYS = new Set([
  'name', 'hostIdentifier', 'calendarTime', 'unixTime', 'epoch', 'counter', 'numerics', 'decorations',
  'columns', 'action', 'diffResults', 'snapshot',
]);
const STATUS_KEYS = new Set([
  'hostIdentifier', 'calendarTime', 'unixTime', 'severity', 'filename', 'line', 'message', 'version', 'decorations',
]);

/**
 * Decorations, including those flattened to the top level by `--decorations_top_level`
 * (osquery-protocol.md §4.2): any unknown top-level scalar is taken as a decoration.
 */
function decorationsOf(line: Record<string, unknown>, known: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  const nested = line['decorations'];
  if (isPlainObject(nested)) for (const k in nested) out[k] = stripNul(toText(nested[k]));
  // for…in over a JSON.parse object (no prototype keys) instead of Object.entries: this runs once per
  // result line, and the entries arrays were a measurable share of ingestion (docs/performance.md).
  for (const k in line) {
    if (known.has(k)) continue;
    const v = line[k];
    if (isPlainObject(v) || Array.isArray(v)) continue;
    out[k] = stripNul(toText(v));
  }
  return out;
}

function cleanRow(row: Record<string, RowValue>): ResultRow {
  const out: ResultRow = {};
  for (const k in row) {
    const v = row[k] ?? null;
    out[stripNul(k)] = typeof v === 'string' ? stripNul(v) : v;
  }
  return out;
}

/** Rows as sent when the body is known to hold no NUL (see `ParseOptions.nulFree`), else cleaned. */
function rowOf(row: Record<string, RowValue>, nulFree: boolean): ResultRow {
  return nulFree ? row : cleanRow(row);
}

function rowsOf(v: readonly Record<string, RowValue>[] | '' | undefined, nulFree: boolean): ResultRow[] {
  // `''` is old osquery's empty result (§9 item 8).
  return v === undefined || v === '' ? [] : v.map((r) => rowOf(r, nulFree));
}

function recordOf(line: {
  name: string; hostIdentifier?: string | undefined; calendarTime?: string | undefined;
  unixTime?: number | string | undefined; epoch?: number | string | undefined; counter?: number | string | undefined;
  numerics?: boolean | string | undefined;
}, raw: Record<string, unknown>, format: ResultRecord['format'], rows: ResultRecord['rows']): ResultRecord {
  // One object literal (no spread of a common part): built once per result line on the ingest path.
  return {
    name: line.name,
    hostIdentifier: line.hostIdentifier ?? '',
    calendarTime: line.calendarTime ?? '',
    unixTime: toInteger(line.unixTime) ?? 0,
    epoch: toInteger(line.epoch) ?? 0,
    counter: toInteger(line.counter) ?? 0,
    numerics: toBoolean(line.numerics) ?? false,
    decorations: decorationsOf(raw, RESULT_KEYS),
    format,
    rows,
  };
}

/** Error prefix of a line, built only on failure: parsing runs once per line of every result log. */
function lineAt(index: number): string {
  return `data/${index}`;
}

function parseResultLine(raw: unknown, index: number, nulFree: boolean): Parsed<ResultRecord> {
  if (!isPlainObject(raw)) return { ok: false, error: `${lineAt(index)}: a result log line must be a JSON object` };
  if ('diffResults' in raw) {
    const r = checkBatch(raw);
    if (!r.ok) return { ok: false, error: `${lineAt(index)}${r.error}` };
    const added = rowsOf(r.value.diffResults.added, nulFree).map((columns) => ({ action: 'added' as const, columns }));
    const removed = rowsOf(r.value.diffResults.removed, nulFree).map((columns) => ({ action: 'removed' as const, columns }));
    return { ok: true, value: recordOf(r.value, raw, 'batch', [...added, ...removed]) };
  }
  if ('snapshot' in raw) {
    const r = checkSnapshot(raw);
    if (!r.ok) return { ok: false, error: `${lineAt(index)}${r.error}` };
    const rows = rowsOf(r.value.snapshot, nulFree).map((columns) => ({ action: 'snapshot' as const, columns }));
    return { ok: true, value: recordOf(r.value, raw, 'snapshot', rows) };
  }
  // Event format: osquery's default (one row per line, §4.2).
  if ('columns' in raw) {
    const r = checkEvent(raw);
    if (!r.ok) return { ok: false, error: `${lineAt(index)}${r.error}` };
    return { ok: true, value: recordOf(r.value, raw, 'event', [{ action: r.value.action, columns: rowOf(r.value.columns, nulFree) }]) };
  }
  return { ok: false, error: `${lineAt(index)}: not a result log line (expected "columns", "diffResults" or "snapshot")` };
}

function parseStatusLine(raw: unknown, at: string): Parsed<StatusRecord> {
  if (!isPlainObject(raw)) return { ok: false, error: `${at}: a status log line must be a JSON object` };
  const r = checkStatus(raw);
  if (!r.ok) return { ok: false, error: `${at}${r.error}` };
  const s = r.value;
  return {
    ok: true,
    value: {
      hostIdentifier: s.hostIdentifier ?? '',
      calendarTime: s.calendarTime ?? '',
      unixTime: toInteger(s.unixTime) ?? 0,
      severity: toInteger(s.severity) ?? 0,
      filename: s.filename ?? '',
      line: toInteger(s.line) ?? 0,
      message: stripNul(s.message),
      version: s.version ?? '',
      decorations: decorationsOf(raw, STATUS_KEYS),
    },
  };
}

export interface ParseOptions {
  /**
   * The caller saw the raw body and it holds no `\u0000` escape, the only way JSON can carry a NUL
   * (JSON text cannot hold a raw U+0000 inside a string). Row values are then stored as parsed,
   * without the per-value NUL strip of §9 item 13.
   */
  nulFree?: boolean;
}

/**
 * Validate a whole logger body. One bad line refuses the whole request, so a batch is stored whole
 * or not at all (S8).
 */
export function parseLogRequest(body: unknown, options: ParseOptions = {}): Parsed<NormalizedLog & { nodeKey: string | undefined }> {
  const nulFree = options.nulFree === true;
  const r = checkLog(body);
  if (!r.ok) return r;
  const { log_type: logType, data } = r.value;
  if (logType === 'result') {
    const records: ResultRecord[] = [];
    for (let i = 0; i < data.length; i++) {
      const p = parseResultLine(data[i], i, nulFree);
      if (!p.ok) return p;
      records.push(p.value);
    }
    return { ok: true, value: { type: 'result', records, nodeKey: r.value.node_key } };
  }
  if (logType === 'status') {
    const records: StatusRecord[] = [];
    for (let i = 0; i < data.length; i++) {
      const p = parseStatusLine(data[i], `data/${i}`);
      if (!p.ok) return p;
      records.push(p.value);
    }
    return { ok: true, value: { type: 'status', records, nodeKey: r.value.node_key } };
  }
  return { ok: false, error: `unknown log_type: ${JSON.stringify(logType)} (expected "result" or "status")` };
}

export interface QueryStats {
  wallTimeMs: number;
  userTime: number;
  systemTime: number;
  memory: number;
}

export interface DistributedResult {
  /** The query name the server sent in `distributed/read`. */
  id: string;
  rows: ResultRow[];
  /** 0 = success; any other value is a failure (§5.2). */
  status: number;
  message: string;
  /** Since 5.8; null when absent or `{}` (not measured). */
  stats: QueryStats | null;
}

function statsOf(v: unknown): QueryStats | null {
  if (!isPlainObject(v)) return null;
  // `wall_time_ms` since 5.8; some servers/clients used `wall_time` (§9 item 11).
  const wall = toInteger(v['wall_time_ms']) ?? toInteger(v['wall_time']);
  const user = toInteger(v['user_time']);
  const system = toInteger(v['system_time']);
  const memory = toInteger(v['memory']);
  if (wall === undefined && user === undefined && system === undefined && memory === undefined) return null;
  return { wallTimeMs: wall ?? 0, userTime: user ?? 0, systemTime: system ?? 0, memory: memory ?? 0 };
}

/** Normalize a distributed write (S9): missing messages/stats, string statuses, `""` rows. */
export function parseDistributedWrite(body: unknown): Parsed<{ nodeKey: string | undefined; results: DistributedResult[] }> {
  const r = checkWrite(body);
  if (!r.ok) return r;
  const { queries = {}, statuses = {}, messages = {}, stats = {} } = r.value;
  const ids = new Set([...Object.keys(queries), ...Object.keys(statuses)]);
  const results: DistributedResult[] = [];
  for (const id of ids) {
    const rows = queries[id];
    results.push({
      id,
      rows: Array.isArray(rows) ? rows.map(cleanRow) : [],
      status: toInteger(statuses[id]) ?? 0,
      message: stripNul(messages[id] ?? ''),
      stats: statsOf(stats[id]),
    });
  }
  return { ok: true, value: { nodeKey: r.value.node_key, results } };
}

export interface EnrollInfo {
  hostIdentifier: string;
  platformType: number | undefined;
  /** host_details tables as maps of strings; a missing table is an empty map. */
  details: {
    os_version: Record<string, string>;
    osquery_info: Record<string, string>;
    system_info: Record<string, string>;
    platform_info: Record<string, string>;
  };
  secret: string;
}

/** Parse an enroll body; `secretKey` is the `--tls_enroll_override` name (default enroll_secret). */
export function parseEnrollRequest(body: unknown, secretKey = 'enroll_secret'): Parsed<EnrollInfo> {
  const r = checkEnroll(body);
  if (!r.ok) return r;
  const raw = body as Record<string, unknown>;
  const secret = raw[secretKey];
  if (secret !== undefined && typeof secret !== 'string') {
    return { ok: false, error: `body/${secretKey}: must be a string` };
  }
  const d = r.value.host_details ?? {};
  const table = (name: string): Record<string, string> => {
    const t = d[name];
    const out: Record<string, string> = {};
    if (t) for (const [k, v] of Object.entries(t)) out[k] = stripNul(toText(v));
    return out;
  };
  return {
    ok: true,
    value: {
      hostIdentifier: stripNul(r.value.host_identifier ?? ''),
      platformType: toInteger(r.value.platform_type),
      details: {
        os_version: table('os_version'),
        osquery_info: table('osquery_info'),
        system_info: table('system_info'),
        platform_info: table('platform_info'),
      },
      secret: secret ?? '',
    },
  };
}
