/**
 * Experiment behind docs/performance.md's ingestion recommendations: CPU per result row for each
 * stage of `POST /log` and for cheaper ways to store the same rows, in one process, on a realistic
 * 512-line body (the bench's ingest scenario body). No HTTP: this isolates what happens after the
 * body arrived.
 *
 *   A  JSON.parse of the body
 *   B  parseLogRequest (osquery-protocol normalize: validation, coercion)
 *   C  LogIngestService.ingest as shipped (digest per row, prebuilt multi-row INSERT through the LogWriter;
 *      requests here go one at a time, so each commit holds one request's 512 rows)
 *   D  the same rows through one prepared better-sqlite3 INSERT … ON CONFLICT DO NOTHING per row, same schema
 *      (the schema of the server's migrations: since 0011 the dedup index leads with (host_id, unix_time))
 *   E  D with only the dedup and (host_id, unix_time) indexes
 *   F  E without the per-row dedup index (dedup per request instead)
 *   G  NDJSON only: one JSON line per row appended to a file, no database
 *
 *   node --conditions=mimir-source --import tsx bench/experiments/ingest.ts [requests-per-stage]
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { parseLogRequest, type ResultRecord } from '@mimir/osquery-protocol';
import { makeHostProfile, OsquerydStandin, resultEventLine, toOsqueryJson, type JsonValue, type LogLine } from '@mimir/osquery-protocol/standin';
import { ensureDefaultGroup } from '../../packages/server/src/services/enroll-secrets.js';
import { LogIngestService, splitPackQueryName } from '../../packages/server/src/services/log-ingest.service.js';
import { openStore } from '../../packages/server/src/storage/store.js';

const requests = Number(process.argv[2] ?? 40);
const LINES = 512;
const dir = mkdtempSync(join(tmpdir(), 'ingest-exp-'));

function body(counter: number): string {
  const host = new OsquerydStandin({ tlsHostname: '127.0.0.1:1', profile: makeHostProfile('ubuntu', 'ingest-exp') });
  const unixTime = 1_790_000_000;
  const data: LogLine[] = [];
  for (let i = 0; i < LINES; i++) {
    const base = host.profile.processes[i % host.profile.processes.length] ?? {};
    data.push(resultEventLine({ name: 'pack/bench/processes', hostIdentifier: host.hostIdentifier, unixTime, counter, version: host.version }, { ...base, pid: String(10_000 + i), start_time: String(unixTime - i * 7) }, 'added'));
  }
  return toOsqueryJson(new Map<string, JsonValue>([['data', data], ['log_type', 'result'], ['node_key', 'k']]));
}

const bodies = Array.from({ length: requests }, (_, i) => body(i + 1));
const rowsPerStage = requests * LINES;

function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

async function cpuMsAsync(fn: () => Promise<void>): Promise<number> {
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function report(stage: string, ms: number): void {
  const us = (ms * 1000) / rowsPerStage;
  process.stdout.write(`${stage.padEnd(64)} ${us.toFixed(2).padStart(7)} µs/row  → ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)} rows per CPU-second\n`);
}

function records(b: string): ResultRecord[] {
  const p = parseLogRequest(JSON.parse(b) as unknown);
  if (!p.ok || p.value.type !== 'result') throw new Error('bad body');
  return p.value.records;
}

const SCHEMA_COLUMNS = 'host_id, name, pack, query, action, columns, decorations, unix_time, epoch, counter, received_at, dedup';

async function freshDb(name: string, keepIndexes: readonly string[] | 'all'): Promise<BetterSqlite3.Database> {
  // The server's own migrations create the schema; then a raw connection does the inserts.
  const store = await openStore({ dataDir: join(dir, name) });
  await store.close();
  const raw = new BetterSqlite3(join(dir, name, 'mimir.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('cache_size = -65536');
  if (keepIndexes !== 'all') {
    for (const idx of ['result_logs_dedup', 'result_logs_pack_time', 'result_logs_host_time', 'result_logs_received', 'result_logs_time_id', 'result_logs_pack_time_id']) {
      if (!keepIndexes.includes(idx)) raw.exec(`DROP INDEX IF EXISTS ${idx}`);
    }
  }
  // Foreign keys stay off on this connection (the default): the rows point at no hosts row.
  return raw;
}

function digest(parts: readonly (string | number)[]): string {
  return createHash('sha1').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

function rawInsert(raw: BetterSqlite3.Database, dedupPerRow: boolean): void {
  const stmt = raw.prepare(`INSERT INTO result_logs (${SCHEMA_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`);
  const insertAll = raw.transaction((recs: ResultRecord[], req: number) => {
    const now = Date.now();
    recs.forEach((rec, i) => {
      const { pack, query } = splitPackQueryName(rec.name);
      const decorations = JSON.stringify(rec.decorations);
      rec.rows.forEach((row, j) => {
        const columns = JSON.stringify(row.columns);
        const dedup = dedupPerRow ? digest([i, j, rec.name, rec.unixTime, rec.epoch, rec.counter, row.action, columns]) : `${req}:${i}:${j}`;
        stmt.run(1, rec.name, pack, query, row.action, columns, decorations, rec.unixTime, rec.epoch, rec.counter, now, dedup);
      });
    });
  });
  bodies.forEach((b, k) => insertAll(records(b), k));
}

async function main(): Promise<void> {
  // Warm the JIT on every path once so stage order does not decide the result.
  for (const b of bodies.slice(0, 3)) records(b);

  report('A  JSON.parse', cpuMs(() => {
    for (const b of bodies) JSON.parse(b);
  }));
  report('B  JSON.parse + parseLogRequest (normalize)', cpuMs(() => {
    for (const b of bodies) records(b);
  }));

  const store = await openStore({ dataDir: join(dir, 'c') });
  const service = new LogIngestService(store);
  // The service writes through the store, whose connection enforces the hosts foreign key.
  await ensureDefaultGroup(store, undefined, Date.now());
  const groupId = (await store.groups.findByName('default'))?.id ?? 1;
  const host = { id: await store.hosts.insert({ identifier: 'exp', group_id: groupId }), identifier: 'exp', hostname: 'exp' };
  report('C  parse + LogIngestService.ingest (as shipped)', await cpuMsAsync(async () => {
    for (const b of bodies) {
      const p = parseLogRequest(JSON.parse(b) as unknown);
      if (!p.ok) throw new Error(p.error);
      await service.ingest(host, p.value, Date.now());
    }
  }));
  await store.close();

  const d = await freshDb('d', 'all');
  report('D  parse + prepared INSERT per row, same indexes', cpuMs(() => rawInsert(d, true)));
  d.close();
  const e = await freshDb('e', ['result_logs_dedup', 'result_logs_host_time']);
  report('E  D with 2 indexes (dedup, host_time)', cpuMs(() => rawInsert(e, true)));
  e.close();
  const f = await freshDb('f', ['result_logs_host_time']);
  report('F  E without per-row dedup (dedup per request)', cpuMs(() => rawInsert(f, false)));
  f.close();

  const fd = openSync(join(dir, 'results.ndjson'), 'a');
  report('G  parse + NDJSON line per row, no database', cpuMs(() => {
    for (const b of bodies) {
      const out: string[] = [];
      for (const rec of records(b)) {
        for (const row of rec.rows) out.push(JSON.stringify({ name: rec.name, unixTime: rec.unixTime, action: row.action, columns: row.columns, decorations: rec.decorations }));
      }
      writeSync(fd, `${out.join('\n')}\n`);
    }
  }));
  closeSync(fd);
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
