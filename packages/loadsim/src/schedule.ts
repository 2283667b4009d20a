/**
 * Scheduled-query results for simulated hosts (osquery-protocol.md §4.2): the queries of the config
 * the server sent (packs and `schedule`) and/or a built-in baseline per OS template, run through the
 * stand-in's query engine on their intervals, turned into result log lines the way osquery's
 * scheduler does: differential queries log `added`/`removed` events against the previous run
 * (everything `added` on the first run, counter 0), snapshot queries log every row each run.
 *
 * The built-in baseline is sized like Fleet's load-test content ("2 packs, ~6 queries each",
 * fleet.md §3.2) and produces about 0.14 result rows per host per second: an uptime snapshot every
 * 10 s (so a logger flush has something to send each period, as the 0.22 requests/s per host of
 * fleet.md §3.5 assumes), a processes query every minute with one short-lived process coming and
 * going, and hourly inventory queries.
 */
import { toInteger } from '@mimir/osquery-protocol';
import {
  resultEventLine, resultSnapshotLine, type HostTemplate, type LogLine, type ResultLineCommon, type TableRow,
} from '@mimir/osquery-protocol/standin';
import { unitHash } from './answers.js';

export interface ScheduledQuery {
  /** The name osquery logs: `pack<delim><pack><delim><query>` for pack queries. */
  name: string;
  sql: string;
  intervalSec: number;
  snapshot: boolean;
  /** Add a short-lived process that changes every run (built-in processes query only). */
  churn?: boolean;
}

export type ScheduleSource = 'builtin' | 'config' | 'both';

const BUILTIN_PACK = 'loadsim';

function builtinName(query: string): string {
  // Mimir serves pack_delimiter "/", so these land in pack "loadsim" like a real pack would.
  return `pack/${BUILTIN_PACK}/${query}`;
}

/** The built-in baseline schedule for a template. */
export function builtinSchedule(template: HostTemplate): ScheduledQuery[] {
  const linux = template === 'ubuntu' || template === 'rhel';
  const out: ScheduledQuery[] = [
    { name: builtinName('uptime'), sql: 'SELECT days, hours, minutes, seconds, total_seconds FROM uptime', intervalSec: 10, snapshot: true },
    { name: builtinName('processes'), sql: 'SELECT pid, name, path, cmdline, state, uid, parent FROM processes', intervalSec: 60, snapshot: false, churn: true },
    { name: builtinName('users'), sql: 'SELECT uid, username, description, directory, shell FROM users', intervalSec: 3600, snapshot: false },
    { name: builtinName('interface_addresses'), sql: 'SELECT interface, address, mask FROM interface_addresses', intervalSec: 3600, snapshot: false },
    { name: builtinName('os_version'), sql: 'SELECT name, version, major, minor, platform, arch FROM os_version', intervalSec: 3600, snapshot: false },
    { name: builtinName('osquery_info'), sql: 'SELECT version, build_platform, instance_id, config_hash FROM osquery_info', intervalSec: 3600, snapshot: true },
  ];
  if (linux) {
    out.push({ name: builtinName('memory_info'), sql: 'SELECT memory_total, memory_free, memory_available, cached FROM memory_info', intervalSec: 300, snapshot: true });
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scheduledFrom(name: string, q: unknown): ScheduledQuery | undefined {
  if (!isObject(q) || typeof q['query'] !== 'string' || q['query'] === '') return undefined;
  const interval = toInteger(q['interval']) ?? 3600;
  if (interval <= 0) return undefined;
  return { name, sql: q['query'], intervalSec: interval, snapshot: q['snapshot'] === true || q['snapshot'] === 'true' };
}

/** The schedule and pack queries of a config (osquery-protocol.md §3.2), named as osquery logs them. */
export function scheduleFromConfig(config: unknown): ScheduledQuery[] {
  if (!isObject(config)) return [];
  const out: ScheduledQuery[] = [];
  const options = isObject(config['options']) ? config['options'] : {};
  const delim = typeof options['pack_delimiter'] === 'string' ? options['pack_delimiter'] : '_';
  if (isObject(config['schedule'])) {
    for (const [name, q] of Object.entries(config['schedule'])) {
      const s = scheduledFrom(name, q);
      if (s) out.push(s);
    }
  }
  if (isObject(config['packs'])) {
    for (const [pack, p] of Object.entries(config['packs'])) {
      if (!isObject(p) || !isObject(p['queries'])) continue;
      for (const [name, q] of Object.entries(p['queries'])) {
        const s = scheduledFrom(`pack${delim}${pack}${delim}${name}`, q);
        if (s) out.push(s);
      }
    }
  }
  return out;
}

/** Names of short-lived processes the churn rotates through. */
const CHURN_PROCESSES = ['sleep', 'curl', 'python3', 'git', 'ssh', 'apt-get', 'cron', 'logrotate'];

interface QueryState {
  query: ScheduledQuery;
  nextAt: number;
  counter: number;
  /** Previous run of a differential query: row key → row. */
  previous: Map<string, TableRow> | undefined;
}

export type RunSql = (sql: string) => Promise<TableRow[] | undefined>;

function rowKey(row: TableRow): string {
  return JSON.stringify(row);
}

/** One host's schedule: which queries are due, their counters and last results. */
export class HostSchedule {
  private states: QueryState[] = [];
  private signature = '';

  constructor(private readonly hostSeed: string) {}

  /** Replace the query list (after a config change); state of queries that stayed is kept. */
  setQueries(queries: readonly ScheduledQuery[], now: number): void {
    const signature = queries.map((q) => `${q.name}\u0000${q.sql}\u0000${q.intervalSec}\u0000${q.snapshot}`).join('\u0001');
    if (signature === this.signature) return;
    this.signature = signature;
    const old = new Map(this.states.map((s) => [s.query.name, s]));
    this.states = queries.map((query) => {
      const kept = old.get(query.name);
      if (kept?.query.sql === query.sql && kept.query.snapshot === query.snapshot) return { ...kept, query };
      // osquery's splay: each query starts at its own phase within the interval.
      const phase = Math.floor(unitHash(`${this.hostSeed}\u0000${query.name}`) * query.intervalSec * 1000);
      return { query, nextAt: now + phase, counter: 0, previous: undefined };
    });
  }

  get size(): number {
    return this.states.length;
  }

  /** Run every due query once and return the log lines osquery would buffer. */
  async collect(run: RunSql, common: Omit<ResultLineCommon, 'name' | 'counter'>, now: number): Promise<LogLine[]> {
    const lines: LogLine[] = [];
    for (const s of this.states) {
      if (s.nextAt > now) continue;
      const intervalMs = s.query.intervalSec * 1000;
      // One run even if several intervals passed (osquery does not catch up either).
      s.nextAt += Math.max(1, Math.ceil((now - s.nextAt + 1) / intervalMs)) * intervalMs;
      let rows = await run(s.query.sql);
      if (rows === undefined) continue; // the query failed: osquery logs nothing for it
      if (s.query.churn === true) rows = [...rows, this.churnRow(Math.floor(now / intervalMs))];
      const base = { ...common, name: s.query.name };
      if (s.query.snapshot) {
        lines.push(resultSnapshotLine({ ...base, counter: s.counter }, rows));
        s.counter++;
        continue;
      }
      const current = new Map<string, TableRow>();
      for (const r of rows) current.set(rowKey(r), r);
      const prev = s.previous;
      const added: TableRow[] = [];
      const removed: TableRow[] = [];
      if (prev === undefined) added.push(...rows);
      else {
        for (const [k, r] of current) if (!prev.has(k)) added.push(r);
        for (const [k, r] of prev) if (!current.has(k)) removed.push(r);
      }
      s.previous = current;
      if (prev !== undefined && added.length === 0 && removed.length === 0) continue;
      const counter = prev === undefined ? 0 : s.counter + 1;
      s.counter = counter;
      for (const r of removed) lines.push(resultEventLine({ ...base, counter }, r, 'removed'));
      for (const r of added) lines.push(resultEventLine({ ...base, counter }, r, 'added'));
    }
    return lines;
  }

  /** A short-lived process that is different in every run period. */
  private churnRow(period: number): TableRow {
    const u = unitHash(`${this.hostSeed}\u0000churn\u0000${period}`);
    const name = CHURN_PROCESSES[Math.floor(u * CHURN_PROCESSES.length)] ?? 'sleep';
    const pid = String(20_000 + Math.floor(u * 40_000));
    return { pid, name, path: `/usr/bin/${name}`, cmdline: `${name} --job ${period}`, state: 'S', uid: '0', parent: '1' };
  }
}
