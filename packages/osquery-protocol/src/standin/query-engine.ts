/**
 * The stand-in's query engine: answers distributed (and discovery) queries from a host profile.
 *
 * This is NOT SQLite. It understands `SELECT <list> FROM <table> [WHERE a = x [AND …]] [LIMIT n]`
 * and `SELECT <literals>` only: the table name is taken from the FROM clause, `*`, column names,
 * `AS` aliases, literals and `count(*)` are projected, WHERE supports `=`, `!=`/`<>` and `LIKE`
 * against literals joined by AND (anything else in WHERE is ignored), JOINs/sub-queries are not
 * understood. Unknown tables answer `no such table: <name>` with status 1, like osquery on a
 * platform that lacks the table (osquery-protocol.md §5.2, §9 item 12).
 */
import type { OsqueryConfig } from '../wire.js';
import type { HostProfile, StandinPlatform, TableRow } from './host-templates.js';

/** Per-query performance as reported in distributed write `stats` (since 5.8). */
export interface QueryStatsWire {
  wall_time_ms: number;
  user_time: number;
  system_time: number;
  memory: number;
}

export interface QueryAnswer {
  /** 0 = success, 1 = failure (osquery never sends raw SQLite codes). */
  status: number;
  /** "" on success; the SQLite error message on failure. */
  message?: string;
  /** Column → string value (SQL NULL as ""), keys in SELECT column order. */
  rows: TableRow[];
  /** Overrides the measured stats. */
  stats?: QueryStatsWire;
}

export type QueryEngine = (sql: string) => QueryAnswer | Promise<QueryAnswer>;

export interface DefaultQueryEngineContext {
  /** The last config received (feeds `osquery_schedule`). */
  config?: () => OsqueryConfig | undefined;
  /** Current time in ms (default Date.now). */
  now?: () => number;
  /** osquery_info overrides (version, start_time…) so answers match what enroll sent. */
  osqueryInfo?: () => TableRow;
  /** Pack delimiter for schedule names (default "_"). */
  packDelimiter?: string;
}

/** Real osquery tables present on each platform that the stand-in answers with zero rows. */
const EMPTY_TABLES: Record<StandinPlatform, readonly string[]> = {
  linux: [
    'apt_sources', 'deb_packages', 'rpm_packages', 'kernel_info', 'kernel_modules', 'mounts', 'listening_ports',
    'process_open_sockets', 'crontab', 'shell_history', 'last', 'logged_in_users', 'groups', 'etc_hosts',
    'file', 'hash', 'carves', 'time', 'disk_encryption', 'iptables', 'docker_containers', 'systemd_units',
  ],
  darwin: [
    'apps', 'launchd', 'homebrew_packages', 'keychain_items', 'alf', 'disk_encryption', 'mounts', 'listening_ports',
    'process_open_sockets', 'crontab', 'shell_history', 'last', 'logged_in_users', 'groups', 'etc_hosts',
    'file', 'hash', 'carves', 'time', 'kernel_info', 'mdm', 'sip_config',
  ],
  windows: [
    'programs', 'registry', 'services', 'patches', 'windows_security_center', 'bitlocker_info', 'logged_in_users',
    'listening_ports', 'process_open_sockets', 'groups', 'etc_hosts', 'file', 'hash', 'carves', 'time',
    'scheduled_tasks', 'chocolatey_packages', 'windows_update_history',
  ],
};

interface SelectItem {
  kind: 'star' | 'column' | 'literal' | 'count' | 'expr';
  /** Output column name. */
  name: string;
  /** Source column (column kind). */
  source?: string;
  value?: string;
}

interface Condition {
  column: string;
  op: '=' | '!=' | 'like';
  value: string;
}

/** Split on top-level commas (outside quotes and parentheses). */
function splitTopLevel(s: string, sep: RegExp): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0) {
      const m = sep.exec(s.slice(i));
      if (m?.index === 0) {
        out.push(s.slice(start, i));
        i += m[0].length - 1;
        start = i + 1;
      }
    }
  }
  out.push(s.slice(start));
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function literalValue(expr: string): string | undefined {
  const str = /^'((?:[^']|'')*)'$/.exec(expr);
  if (str?.[1] !== undefined) return str[1].replaceAll("''", "'");
  if (/^-?\d+(?:\.\d+)?$/.test(expr)) return expr;
  if (/^null$/i.test(expr)) return '';
  return undefined;
}

function unquoteIdent(s: string): string {
  const m = /^(?:"([^"]*)"|`([^`]*)`|\[([^\]]*)\])$/.exec(s);
  return m ? (m[1] ?? m[2] ?? m[3] ?? s) : s;
}

function parseSelectItem(raw: string): SelectItem {
  const alias = /^(.*?)\s+(?:as\s+)?("[^"]*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_]\w*)$/i.exec(raw);
  let expr = raw;
  let name: string | undefined;
  if (
    alias?.[1] !== undefined && alias[2] !== undefined && alias[1] !== '' &&
    !/^(?:'.*'|\*)$/.test(raw) && !/[-+*/%|<>=(]$/.test(alias[1].trim())
  ) {
    expr = alias[1].trim();
    name = unquoteIdent(alias[2]);
  }
  if (expr === '*' || /^\w+\.\*$/.test(expr)) return { kind: 'star', name: '*' };
  if (/^count\s*\(\s*(?:\*|1)\s*\)$/i.test(expr)) return { kind: 'count', name: name ?? expr };
  const lit = literalValue(expr);
  if (lit !== undefined) return { kind: 'literal', name: name ?? expr, value: lit };
  const col = /^(?:\w+\.)?("[^"]*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_]\w*)$/.exec(expr);
  if (col?.[1] !== undefined) return { kind: 'column', name: name ?? unquoteIdent(col[1]), source: unquoteIdent(col[1]) };
  return { kind: 'expr', name: name ?? expr };
}

function parseWhere(where: string): Condition[] {
  const out: Condition[] = [];
  for (const part of splitTopLevel(where, /^\s+and\s+/i)) {
    const m = /^(?:\w+\.)?([A-Za-z_]\w*)\s*(=|==|!=|<>|\s+like\s+)\s*(.+)$/i.exec(part);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    const value = literalValue(m[3].trim());
    if (value === undefined) continue;
    const op = m[2].trim().toLowerCase();
    out.push({ column: m[1], op: op === 'like' ? 'like' : op === '!=' || op === '<>' ? '!=' : '=', value });
  }
  return out;
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll('%', '.*').replaceAll('_', '.');
  return new RegExp(`^${escaped}$`, 'is');
}

function column(row: TableRow, name: string): string | undefined {
  if (name in row) return row[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(row)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function matches(row: TableRow, conds: readonly Condition[]): boolean {
  return conds.every((c) => {
    const v = column(row, c.column) ?? '';
    if (c.op === 'like') return likeToRegExp(c.value).test(v);
    const eq = v === c.value || (/^-?\d+(?:\.\d+)?$/.test(v) && /^-?\d+(?:\.\d+)?$/.test(c.value) && Number(v) === Number(c.value));
    return c.op === '=' ? eq : !eq;
  });
}

function project(rows: readonly TableRow[], items: readonly SelectItem[]): TableRow[] {
  if (items.some((i) => i.kind === 'count')) {
    const out: TableRow = {};
    const first = rows[0];
    for (const i of items) {
      if (i.kind === 'count') out[i.name] = String(rows.length);
      else if (i.kind === 'literal') out[i.name] = i.value ?? '';
      else if (i.kind === 'column') out[i.name] = (first && column(first, i.source ?? i.name)) ?? '';
      else if (i.kind === 'expr') out[i.name] = '';
    }
    return [out];
  }
  return rows.map((row) => {
    const out: TableRow = {};
    for (const i of items) {
      if (i.kind === 'star') Object.assign(out, row);
      else if (i.kind === 'column') out[i.name] = column(row, i.source ?? i.name) ?? '';
      else if (i.kind === 'literal') out[i.name] = i.value ?? '';
      else out[i.name] = '';
    }
    return out;
  });
}

function scheduleRows(config: OsqueryConfig | undefined, delimiter: string): TableRow[] {
  const rows: TableRow[] = [];
  const add = (name: string, q: { query?: unknown; interval?: unknown }): void => {
    rows.push({
      name,
      query: typeof q.query === 'string' ? q.query : '',
      interval: typeof q.interval === 'number' || typeof q.interval === 'string' ? String(q.interval) : '3600',
      executions: '0', last_executed: '0', denylisted: '0', output_size: '0', wall_time: '0', wall_time_ms: '0',
      last_wall_time_ms: '0', user_time: '0', last_user_time: '0', system_time: '0', last_system_time: '0',
      average_memory: '0', last_memory: '0',
    });
  };
  if (!config) return rows;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(config.schedule)) for (const [name, q] of Object.entries(config.schedule)) if (isObj(q)) add(name, q);
  if (isObj(config.packs)) {
    for (const [pack, p] of Object.entries(config.packs)) {
      if (!isObj(p) || !isObj(p['queries'])) continue;
      for (const [name, q] of Object.entries(p['queries'])) if (isObj(q)) add(`pack${delimiter}${pack}${delimiter}${name}`, q);
    }
  }
  return rows;
}

/** The default engine over a profile's tables; see the module comment for the supported SQL. */
export function createDefaultQueryEngine(profile: HostProfile, ctx: DefaultQueryEngineContext = {}): QueryEngine {
  const now = ctx.now ?? Date.now;
  const bornAt = now();
  const empty = new Set(EMPTY_TABLES[profile.platform]);
  const tables = (name: string): TableRow[] | undefined => {
    switch (name) {
      case 'osquery_info':
        return [{ ...profile.tables.osquery_info, ...ctx.osqueryInfo?.() }];
      case 'system_info':
        return [profile.tables.system_info];
      case 'os_version':
        return [profile.tables.os_version];
      case 'platform_info':
        return profile.tables.platform_info ? [profile.tables.platform_info] : [];
      case 'uptime': {
        const total = profile.uptimeSeconds + Math.floor((now() - bornAt) / 1000);
        return [{
          days: String(Math.floor(total / 86400)),
          hours: String(Math.floor((total % 86400) / 3600)),
          minutes: String(Math.floor((total % 3600) / 60)),
          seconds: String(total % 60),
          total_seconds: String(total),
        }];
      }
      case 'interface_addresses':
        return profile.interfaceAddresses;
      case 'memory_info':
        return profile.memoryInfo ? [profile.memoryInfo] : undefined;
      case 'users':
        return profile.users;
      case 'processes':
        return profile.processes;
      case 'osquery_schedule':
        return scheduleRows(ctx.config?.(), ctx.packDelimiter ?? '_');
      default:
        return empty.has(name) ? [] : undefined;
    }
  };

  return (sql: string): QueryAnswer => {
    const text = sql.trim().replace(/;\s*$/, '').trim();
    const sel = /^select\s+([\s\S]+?)(?:\s+from\s+([A-Za-z_]\w*|"[^"]+")([\s\S]*))?$/i.exec(text);
    if (!sel?.[1]) {
      const word = /^\S+/.exec(text)?.[0] ?? '';
      return { status: 1, message: word === '' ? 'not an error' : `near "${word}": syntax error`, rows: [] };
    }
    const items = splitTopLevel(sel[1], /^,/).map(parseSelectItem);
    if (sel[2] === undefined) {
      if (items.some((i) => i.kind === 'star')) return { status: 1, message: 'no tables specified', rows: [] };
      if (items.some((i) => i.kind === 'column')) {
        const c = items.find((i) => i.kind === 'column');
        return { status: 1, message: `no such column: ${c?.name ?? ''}`, rows: [] };
      }
      return { status: 0, message: '', rows: project([{}], items) };
    }
    const table = unquoteIdent(sel[2]).toLowerCase();
    const rows = tables(table);
    if (rows === undefined) return { status: 1, message: `no such table: ${unquoteIdent(sel[2])}`, rows: [] };
    const rest = sel[3] ?? '';
    const whereM = /\bwhere\s+([\s\S]+?)(?=\s+(?:group\s+by|order\s+by|limit)\b|$)/i.exec(rest);
    const limitM = /\blimit\s+(\d+)\s*$/i.exec(rest);
    let selected = whereM?.[1] ? rows.filter((r) => matches(r, parseWhere(whereM[1] ?? ''))) : [...rows];
    if (limitM?.[1]) selected = selected.slice(0, Number(limitM[1]));
    return { status: 0, message: '', rows: project(selected, items) };
  };
}
