/**
 * LogIngestService (osquery-protocol.md §4, S8; issue #3 "Log ingest"): every result layout osquery
 * emits (event, batch, snapshot — §4.2) and the legacy string-number shapes (status `unixTime`,
 * `severity`, `line` before 5.10, §4.3; result numbers before 3.x and snapshot `""` from 2.x, §9
 * items 7–8) are stored as the same rows; NUL characters are stripped (§9 item 13); the NDJSON
 * sinks receive one object per stored row, only after the commit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseLogRequest, type NormalizedLog } from '@mimir/osquery-protocol';
import { openStore, type Store } from '../storage/store.js';
import { LogIngestService, splitPackQueryName, type LogHost } from './log-ingest.service.js';
import { NdjsonSink } from './ndjson-sink.js';

const NOW = 1_704_207_900_000;
const T = 1_704_207_845;

interface Fixture {
  dir: string;
  store: Store;
  host: LogHost;
}

async function open(t: TestContext): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-ingest-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const groupId = await store.groups.create('default', NOW);
  const id = await store.hosts.insert({ identifier: 'web-01-uuid', group_id: groupId, hostname: 'web-01' });
  return { dir, store, host: { id, identifier: 'web-01-uuid', hostname: 'web-01' } };
}

function parse(logType: 'result' | 'status', data: unknown[]): NormalizedLog {
  const r = parseLogRequest({ node_key: 'k', log_type: logType, data });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const common = { hostIdentifier: 'web-01-uuid', calendarTime: 'Tue Jan  2 15:04:05 2024 UTC', unixTime: T, epoch: 0, counter: 3, numerics: false };

async function storedResults(store: Store) {
  const rows = await store.logs.listResults({ limit: 1000 });
  return rows
    .sort((a, b) => a.id - b.id)
    .map((r) => ({ name: r.name, pack: r.pack, query: r.query, action: r.action, columns: JSON.parse(r.columns) as unknown, decorations: JSON.parse(r.decorations) as unknown, unix_time: r.unix_time, epoch: r.epoch, counter: r.counter, received_at: r.received_at }));
}

function ndjson(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'every line is terminated');
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as unknown);
}

void describe('splitPackQueryName', () => {
  void it('should split pack/<pack>/<query> at the first slash after the pack and leave other names whole', () => {
    assert.deepEqual(splitPackQueryName('pack/it/procs'), { pack: 'it', query: 'procs' });
    assert.deepEqual(splitPackQueryName('pack/it/a/b'), { pack: 'it', query: 'a/b' });
    assert.deepEqual(splitPackQueryName('procs'), { pack: '', query: 'procs' });
    // osquery's default delimiter "_" is ambiguous: we serve "/" (pack_delimiter), so "_" names stay whole.
    assert.deepEqual(splitPackQueryName('pack_it_procs'), { pack: '', query: 'pack_it_procs' });
    assert.deepEqual(splitPackQueryName('pack//procs'), { pack: '', query: 'pack//procs' });
    assert.deepEqual(splitPackQueryName('pack/noquery'), { pack: '', query: 'pack/noquery' });
  });
});

void describe('LogIngestService', () => {
  void it('should store event-format lines with pack/query split, action, columns and decorations', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    const out = await svc.ingest(f.host, parse('result', [
      { name: 'pack/it/procs', ...common, decorations: { host_uuid: 'U-1', hostname: 'web-01' }, columns: { name: 'osqueryd', pid: '97830' }, action: 'added' },
      { name: 'pack/it/procs', ...common, decorations: { host_uuid: 'U-1', hostname: 'web-01' }, columns: { name: 'bash', pid: '1' }, action: 'removed' },
      // --logger_numerics: typed values stay typed.
      { name: 'uptime', ...common, numerics: true, columns: { days: 3, total_seconds: 273_600, ratio: 0.5, flag: true, empty: null }, action: 'added' },
    ]), NOW);
    assert.deepEqual(out, { received: 3, stored: 3 });
    assert.deepEqual(await storedResults(f.store), [
      { name: 'pack/it/procs', pack: 'it', query: 'procs', action: 'added', columns: { name: 'osqueryd', pid: '97830' }, decorations: { host_uuid: 'U-1', hostname: 'web-01' }, unix_time: T, epoch: 0, counter: 3, received_at: NOW },
      { name: 'pack/it/procs', pack: 'it', query: 'procs', action: 'removed', columns: { name: 'bash', pid: '1' }, decorations: { host_uuid: 'U-1', hostname: 'web-01' }, unix_time: T, epoch: 0, counter: 3, received_at: NOW },
      { name: 'uptime', pack: '', query: 'uptime', action: 'added', columns: { days: 3, total_seconds: 273_600, ratio: 0.5, flag: true, empty: null }, decorations: {}, unix_time: T, epoch: 0, counter: 3, received_at: NOW },
    ]);
  });

  void it('should store batch-format lines as one row per added and removed row', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    const out = await svc.ingest(f.host, parse('result', [
      { diffResults: { removed: [{ port: '22' }], added: [{ port: '80' }, { port: '443' }] }, name: 'pack/net/ports', ...common },
      // counter 0 with nothing changed: a line with two empty arrays stores nothing.
      { diffResults: { removed: [], added: [] }, name: 'pack/net/ports', ...common, counter: 0 },
    ]), NOW);
    assert.deepEqual(out, { received: 3, stored: 3 });
    const rows = await storedResults(f.store);
    assert.deepEqual(rows.map((r) => [r.pack, r.query, r.action, r.columns]), [
      ['net', 'ports', 'added', { port: '80' }],
      ['net', 'ports', 'added', { port: '443' }],
      ['net', 'ports', 'removed', { port: '22' }],
    ]);
  });

  void it('should store snapshot lines as snapshot rows, and an empty snapshot ([] or 2.x "") as nothing', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    const out = await svc.ingest(f.host, parse('result', [
      { snapshot: [{ user: 'root' }, { user: 'alice' }], action: 'snapshot', name: 'pack/users/all', ...common, counter: 0 },
      { snapshot: [], action: 'snapshot', name: 'pack/users/none', ...common },
      { snapshot: '', action: 'snapshot', name: 'pack/users/legacy', ...common },
      // --logger_snapshot_event_type=true: one event line per row, action "snapshot".
      { name: 'pack/users/evented', ...common, columns: { user: 'bob' }, action: 'snapshot' },
    ]), NOW);
    assert.deepEqual(out, { received: 3, stored: 3 });
    assert.deepEqual((await storedResults(f.store)).map((r) => [r.query, r.action, r.columns]), [
      ['all', 'snapshot', { user: 'root' }],
      ['all', 'snapshot', { user: 'alice' }],
      ['evented', 'snapshot', { user: 'bob' }],
    ]);
    // A request made only of empty snapshots is accepted and stores nothing.
    assert.deepEqual(await svc.ingest(f.host, parse('result', [{ snapshot: '', action: 'snapshot', name: 'pack/users/legacy', ...common }]), NOW), { received: 0, stored: 0 });
  });

  void it('should store result numbers sent as strings (osquery < 3.x) as numbers', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    await svc.ingest(f.host, parse('result', [
      { name: 'pack/old/q', hostIdentifier: 'h', calendarTime: 'x', unixTime: String(T), epoch: '2', counter: '7', numerics: 'false', columns: { a: '1' }, action: 'added' },
      { diffResults: { added: [{ b: '2' }], removed: '' }, name: 'pack/old/batch', hostIdentifier: 'h', unixTime: ` ${T} `, epoch: '0', counter: '0' },
    ]), NOW);
    const rows = await storedResults(f.store);
    assert.deepEqual(rows.map((r) => [r.query, r.unix_time, r.epoch, r.counter]), [['q', T, 2, 7], ['batch', T, 0, 0]]);
    for (const r of rows) assert.equal(typeof r.unix_time, 'number');
  });

  void it('should store status lines, including the string numbers osquery sent before 5.10', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    const out = await svc.ingest(f.host, parse('status', [
      { hostIdentifier: 'web-01', calendarTime: 'x', unixTime: T, severity: 0, filename: 'init.cpp', line: 379, message: 'osquery worker initialized [watcher=9862]', version: '5.23.1', decorations: { host_uuid: 'U-1' } },
      { hostIdentifier: 'web-01', calendarTime: 'x', unixTime: '1513027913', severity: '2', filename: 'tls.cpp', line: '196', message: 'TLS/HTTPS POST request failed', version: '2.11.0' },
      // Only `message` is required; osquery docs even show a `hostname` key.
      { hostname: 'web-01', message: 'bare' },
    ]), NOW);
    assert.deepEqual(out, { received: 3, stored: 3 });
    const rows = (await f.store.logs.listStatuses({ limit: 10 })).sort((a, b) => a.id - b.id);
    assert.deepEqual(rows.map((r) => [r.unix_time, r.severity, r.filename, r.line, r.message, r.version, r.received_at]), [
      [T, 0, 'init.cpp', 379, 'osquery worker initialized [watcher=9862]', '5.23.1', NOW],
      [1513027913, 2, 'tls.cpp', 196, 'TLS/HTTPS POST request failed', '2.11.0', NOW],
      [0, 0, '', 0, 'bare', '', NOW],
    ]);
    assert.deepEqual((await f.store.logs.listStatuses({ minSeverity: 2 })).map((r) => r.message), ['TLS/HTTPS POST request failed']);
  });

  void it('should keep decorations flattened to the top level by --decorations_top_level', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    await svc.ingest(f.host, parse('result', [
      { name: 'pack/it/procs', ...common, host_uuid: 'U-1', hostname: 'web-01', columns: { pid: '1' }, action: 'added' },
      { diffResults: { added: [{ pid: '2' }], removed: [] }, name: 'pack/it/procs', ...common, host_uuid: 'U-1', uptime: 42 },
      { snapshot: [{ pid: '3' }], action: 'snapshot', name: 'pack/it/procs', ...common, decorations: { nested: 'n' }, top: 't' },
    ]), NOW);
    assert.deepEqual((await storedResults(f.store)).map((r) => r.decorations), [
      { host_uuid: 'U-1', hostname: 'web-01' },
      { host_uuid: 'U-1', uptime: '42' },
      { nested: 'n', top: 't' },
    ]);
  });

  void it('should strip NUL characters from names, row keys and values, decorations and status fields', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    await svc.ingest(f.host, parse('result', [
      { name: 'pack/p\u0000/q\u0000', ...common, decorations: { d: 'x\u0000y' }, columns: { 'k\u0000ey': 'v\u0000al\u0000', n: 'plain' }, action: 'added' },
      { snapshot: [{ path: '/tmp/a\u0000b' }], action: 'snapshot', name: 'pack/p/snap', ...common, top: 'z\u0000' },
    ]), NOW);
    await svc.ingest(f.host, parse('status', [
      { hostIdentifier: 'h', unixTime: T, severity: 1, filename: 'f\u0000.cpp', line: 1, message: 'bad \u0000 byte', version: '5.\u000023.1' },
    ]), NOW);
    const rows = await storedResults(f.store);
    assert.deepEqual(rows.map((r) => [r.name, r.pack, r.query, r.columns, r.decorations]), [
      ['pack/p/q', 'p', 'q', { key: 'val', n: 'plain' }, { d: 'xy' }],
      ['pack/p/snap', 'p', 'snap', { path: '/tmp/ab' }, { top: 'z' }],
    ]);
    const [status] = await f.store.logs.listStatuses({});
    assert.deepEqual([status?.message, status?.filename, status?.version], ['bad  byte', 'f.cpp', '5.23.1']);
    const raw = (await f.store.logs.listResults({})).map((r) => r.name + r.pack + r.query + r.columns + r.decorations).join('');
    assert.equal(raw.includes('\u0000') || raw.includes('\\u0000'), false, 'no NUL, raw or JSON-escaped');
  });

  void it('should skip rows of a resent request and of the resent prefix of a grown one', async (t) => {
    const f = await open(t);
    const svc = new LogIngestService(f.store);
    const line = (pid: number) => ({ name: 'pack/p/q', ...common, columns: { pid: String(pid) }, action: 'added' });
    assert.deepEqual(await svc.ingest(f.host, parse('result', [line(1), line(2)]), NOW), { received: 2, stored: 2 });
    assert.deepEqual(await svc.ingest(f.host, parse('result', [line(1), line(2)]), NOW + 1), { received: 2, stored: 0 });
    assert.deepEqual(await svc.ingest(f.host, parse('result', [line(1), line(2), line(3)]), NOW + 2), { received: 3, stored: 1 });
    const s = (m: string) => ({ hostIdentifier: 'h', unixTime: T, severity: 0, filename: 'a.cpp', line: 1, message: m });
    assert.deepEqual(await svc.ingest(f.host, parse('status', [s('a'), s('b')]), NOW), { received: 2, stored: 2 });
    assert.deepEqual(await svc.ingest(f.host, parse('status', [s('a'), s('b'), s('c')]), NOW), { received: 3, stored: 1 });
    assert.equal(await f.store.logs.countResults(), 3);
    assert.equal(await f.store.logs.countStatuses(), 3);
  });
});

void describe('LogIngestService with NDJSON sinks', () => {
  async function withSinks(t: TestContext) {
    const f = await open(t);
    const results = new NdjsonSink(join(f.dir, 'out', 'results.ndjson'));
    const statuses = new NdjsonSink(join(f.dir, 'out', 'statuses.ndjson'));
    t.after(async () => {
      await results.close();
      await statuses.close();
    });
    return { ...f, results, statuses };
  }

  void it('should write one JSON object per stored row, with host, pack, query, columns and decorations', async (t) => {
    const f = await withSinks(t);
    const svc = new LogIngestService(f.store, { results: f.results, statuses: f.statuses });
    await svc.ingest(f.host, parse('result', [
      { name: 'pack/it/procs', ...common, decorations: { host_uuid: 'U-1' }, columns: { name: 'osqueryd', pid: '97830' }, action: 'added' },
      { diffResults: { removed: [{ port: '22' }], added: [{ port: '80' }] }, name: 'ports', ...common },
      { snapshot: [{ u: 'root' }], action: 'snapshot', name: 'pack/users/all', ...common, counter: 0 },
    ]), NOW);
    await svc.ingest(f.host, parse('status', [{ hostIdentifier: 'h', unixTime: '1513027913', severity: '1', filename: 'a.cpp', line: '9', message: 'warn', version: '5.9.1' }]), NOW);
    await f.results.close();
    await f.statuses.close();

    const host = { id: f.host.id, identifier: 'web-01-uuid', hostname: 'web-01' };
    const ts = new Date(T * 1000).toISOString();
    assert.deepEqual(ndjson(f.results.path), [
      { '@timestamp': ts, host, name: 'pack/it/procs', pack: 'it', query: 'procs', action: 'added', epoch: 0, counter: 3, decorations: { host_uuid: 'U-1' }, osquery: { name: 'osqueryd', pid: '97830' } },
      { '@timestamp': ts, host, name: 'ports', pack: '', query: 'ports', action: 'added', epoch: 0, counter: 3, decorations: {}, osquery: { port: '80' } },
      { '@timestamp': ts, host, name: 'ports', pack: '', query: 'ports', action: 'removed', epoch: 0, counter: 3, decorations: {}, osquery: { port: '22' } },
      { '@timestamp': ts, host, name: 'pack/users/all', pack: 'users', query: 'all', action: 'snapshot', epoch: 0, counter: 0, decorations: {}, osquery: { u: 'root' } },
    ]);
    assert.deepEqual(ndjson(f.statuses.path), [
      { '@timestamp': new Date(1513027913 * 1000).toISOString(), host, severity: 1, filename: 'a.cpp', line: 9, message: 'warn', version: '5.9.1' },
    ]);
    assert.equal(ndjson(f.results.path).length, await f.store.logs.countResults());
  });

  void it('should write only after the commit, and nothing for a batch the database refused', async (t) => {
    const f = await withSinks(t);
    let committed = 0;
    let fail = false;
    const store: Store = {
      ...f.store,
      transaction: async (fn) => {
        const out = await f.store.transaction(async (tx) => {
          const r = await fn(tx);
          // The rows are written inside the transaction; a failure now rolls all of them back.
          if (fail) throw new Error('disk I/O error');
          return r;
        });
        committed++;
        return out;
      },
    };
    class CheckedSink extends NdjsonSink {
      override write(objects: readonly unknown[]): void {
        assert.ok(committed > 0, 'the sink is written after the commit, never before');
        committed = 0;
        super.write(objects);
      }
    }
    const sink = new CheckedSink(join(f.dir, 'out', 'checked.ndjson'));
    t.after(() => sink.close());
    const svc = new LogIngestService(store, { results: sink, statuses: sink });
    const line = (pid: number) => ({ name: 'pack/p/q', ...common, columns: { pid: String(pid) }, action: 'added' });

    fail = true;
    await assert.rejects(svc.ingest(f.host, parse('result', [line(1), line(2)]), NOW), /disk I\/O error/);
    await assert.rejects(svc.ingest(f.host, parse('status', [{ message: 'm' }]), NOW), /disk I\/O error/);
    assert.equal(await f.store.logs.countResults(), 0);
    assert.equal(await f.store.logs.countStatuses(), 0);

    fail = false;
    await svc.ingest(f.host, parse('result', [line(3)]), NOW);
    await sink.close();
    assert.deepEqual(ndjson(sink.path).map((o) => (o as { osquery: unknown }).osquery), [{ pid: '3' }]);
  });

  void it('should not write resent rows to the sink again', async (t) => {
    const f = await withSinks(t);
    const svc = new LogIngestService(f.store, { results: f.results, statuses: f.statuses });
    const line = (pid: number) => ({ name: 'pack/p/q', ...common, columns: { pid: String(pid) }, action: 'added' });
    await svc.ingest(f.host, parse('result', [line(1), line(2)]), NOW);
    // A lost answer: osquery sends the same request again (§1.5), then re-reads its buffer from the
    // oldest line with newer lines appended (§4.1).
    await svc.ingest(f.host, parse('result', [line(1), line(2)]), NOW);
    await svc.ingest(f.host, parse('result', [line(1), line(2), line(3), line(4)]), NOW);
    const s = (m: string) => ({ hostIdentifier: 'h', unixTime: T, severity: 0, filename: 'a.cpp', line: 1, message: m });
    await svc.ingest(f.host, parse('status', [s('a')]), NOW);
    await svc.ingest(f.host, parse('status', [s('a'), s('b')]), NOW);
    await f.results.close();
    await f.statuses.close();
    assert.deepEqual(ndjson(f.results.path).map((o) => (o as { osquery: { pid: string } }).osquery.pid), ['1', '2', '3', '4']);
    assert.equal(ndjson(f.results.path).length, await f.store.logs.countResults());
    assert.deepEqual(ndjson(f.statuses.path).map((o) => (o as { message: string }).message), ['a', 'b']);
  });
});
