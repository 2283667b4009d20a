/**
 * Log lines exactly as osquery buffers and sends them (osquery-protocol.md §4.2, §4.3): emitted key
 * order, `calendarTime` in C asctime format, numbers as numbers (strings where old versions sent
 * strings). Builders return `Map`s so the key order survives serialization with `toOsqueryJson`
 * (json.ts) even for integer-like column names; use `toPlainLine` for a plain object.
 */
import { RawJson, type JsonValue } from './json.js';
import { DEFAULT_OSQUERY_VERSION, versionFeatures } from './version.js';

export type LogLine = Map<string, JsonValue>;
/** A result row: strings, or numbers for numeric columns with `--logger_numerics`. */
export type LogRow = Readonly<Record<string, string | number>>;

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * osquery's `getAsciiTime`: C `asctime()` of the UTC time, trimmed, plus " UTC"
 * → "Tue Jan  2 15:04:05 2024 UTC" (day of month space-padded). `unixTime` in seconds.
 */
export function asciiTime(unixTime: number): string {
  const d = new Date(Math.floor(unixTime) * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const time = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()] ?? ''} ${MONTHS[d.getUTCMonth()] ?? ''} ${day} ${time} ${d.getUTCFullYear()} UTC`;
}

export interface ResultLineCommon {
  /** Scheduled query name (`pack_<pack>_<query>` for pack queries). */
  name: string;
  hostIdentifier: string;
  /** Seconds since the epoch. */
  unixTime: number;
  /** Defaults to `asciiTime(unixTime)`. */
  calendarTime?: string;
  /** `--schedule_epoch` (default 0). */
  epoch?: number;
  counter?: number;
  /** `--logger_numerics` (default false). */
  numerics?: boolean;
  /** Omitted when absent or empty (no decorators configured). */
  decorations?: Readonly<Record<string, string>>;
  /** `--decorations_top_level`: decorations become top-level keys instead of a nested object. */
  decorationsTopLevel?: boolean;
  /** osquery version that emits the line (default 5.23.1); pre-3.0 sent unixTime/epoch/counter as strings. */
  version?: string;
}

/** Row keys in alphabetical order (osquery's rows are ordered maps). */
export function sortedRow(row: LogRow): Map<string, JsonValue> {
  const out = new Map<string, JsonValue>();
  for (const k of Object.keys(row).sort()) {
    const v = row[k];
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

function numberField(n: number, asString: boolean): JsonValue {
  return asString ? String(n) : n;
}

function appendCommon(line: LogLine, c: ResultLineCommon): void {
  const legacy = !versionFeatures(c.version ?? DEFAULT_OSQUERY_VERSION).numericStatuses;
  line.set('name', c.name);
  line.set('hostIdentifier', c.hostIdentifier);
  line.set('calendarTime', c.calendarTime ?? asciiTime(c.unixTime));
  line.set('unixTime', numberField(c.unixTime, legacy));
  line.set('epoch', numberField(c.epoch ?? 0, legacy));
  line.set('counter', numberField(c.counter ?? 0, legacy));
  line.set('numerics', c.numerics ?? false);
  appendDecorations(line, c.decorations, c.decorationsTopLevel ?? false);
}

function appendDecorations(line: LogLine, decorations: Readonly<Record<string, string>> | undefined, topLevel: boolean): void {
  if (!decorations || Object.keys(decorations).length === 0) return;
  if (topLevel) {
    for (const [k, v] of Object.entries(decorations)) line.set(k, v);
  } else {
    line.set('decorations', new Map(Object.entries(decorations)));
  }
}

/** Event format (default `--logger_event_type=true`): one line per row change. */
export function resultEventLine(common: ResultLineCommon, columns: LogRow, action: 'added' | 'removed' | 'snapshot'): LogLine {
  const line: LogLine = new Map();
  appendCommon(line, common);
  line.set('columns', sortedRow(columns));
  line.set('action', action);
  return line;
}

/**
 * Batch format (`--logger_event_type=false`): one line per execution; both arrays always present.
 * (osquery emits a line with both empty only when `counter == 0`; that choice is the caller's.)
 */
export function resultBatchLine(common: ResultLineCommon, diff: { added?: readonly LogRow[]; removed?: readonly LogRow[] }): LogLine {
  const line: LogLine = new Map();
  line.set(
    'diffResults',
    new Map<string, JsonValue>([
      ['removed', (diff.removed ?? []).map(sortedRow)],
      ['added', (diff.added ?? []).map(sortedRow)],
    ]),
  );
  appendCommon(line, common);
  return line;
}

/** Snapshot format (`"snapshot": true`); an empty result is `[]`, or `""` for osquery < 3.0. */
export function resultSnapshotLine(common: ResultLineCommon, rows: readonly LogRow[]): LogLine {
  const line: LogLine = new Map();
  const legacyEmpty = versionFeatures(common.version ?? DEFAULT_OSQUERY_VERSION).emptyResultsAsString;
  line.set('snapshot', rows.length === 0 && legacyEmpty ? '' : rows.map(sortedRow));
  line.set('action', 'snapshot');
  appendCommon(line, common);
  return line;
}

/** Status-log severities. */
export const Severity = { INFO: 0, WARNING: 1, ERROR: 2, FATAL: 3 } as const;
export type SeverityLevel = (typeof Severity)[keyof typeof Severity];

export interface StatusLineInput {
  hostIdentifier: string;
  /** Seconds since the epoch. */
  unixTime: number;
  calendarTime?: string;
  severity: number;
  /** Source file basename, e.g. "init.cpp". */
  filename: string;
  line: number;
  message: string;
  /** osquery version that emits the line (also the `version` field); default 5.23.1. */
  version?: string;
  decorations?: Readonly<Record<string, string>>;
  decorationsTopLevel?: boolean;
}

/** §4.3; `unixTime`, `severity`, `line` are JSON strings before 5.10.0. */
export function statusLine(s: StatusLineInput): LogLine {
  const version = s.version ?? DEFAULT_OSQUERY_VERSION;
  const asString = !versionFeatures(version).numericStatusFields;
  const line: LogLine = new Map();
  line.set('hostIdentifier', s.hostIdentifier);
  line.set('calendarTime', s.calendarTime ?? asciiTime(s.unixTime));
  line.set('unixTime', numberField(s.unixTime, asString));
  line.set('severity', numberField(s.severity, asString));
  line.set('filename', s.filename);
  line.set('line', numberField(s.line, asString));
  line.set('message', s.message);
  line.set('version', version);
  appendDecorations(line, s.decorations, s.decorationsTopLevel ?? false);
  return line;
}

/** A plain-object copy (integer-like keys lose their position — JS object semantics). */
export function toPlainLine(v: JsonValue): unknown {
  if (v instanceof RawJson) return JSON.parse(v.text) as unknown;
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v as ReadonlyMap<string, JsonValue>) out[k] = toPlainLine(x);
    return out;
  }
  if (Array.isArray(v)) return v.map((x: JsonValue) => toPlainLine(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toPlainLine(x as JsonValue);
    return out;
  }
  return v;
}
