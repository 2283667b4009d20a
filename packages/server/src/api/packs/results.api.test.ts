/**
 * Scheduled results over the operator API, fed by osqueryd stand-ins over HTTPS: filters, newest
 * first keyset pages that visit every row once, ECS documents for mapped pack queries, CSV and
 * NDJSON exports (streamed, with the formula-injection guard), and the carves API.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { AuditEntry, Carve, CarveList, PackSaved, ScheduledResult, ScheduledResultList } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile, resultEventLine, resultSnapshotLine } from '@mimir/osquery-protocol/standin';
import { csvCell } from '../csv.js';
import { api, apiUser, rawRequest, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';

async function hostIdOf(srv: TestServer, s: OsquerydStandin): Promise<number> {
  const h = await srv.app.services.cache.authenticate(await s.getNodeKey());
  assert.ok(h);
  return h.id;
}

function newStandin(srv: TestServer, seed: number): OsquerydStandin {
  return new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', seed), sleep: () => Promise.resolve() });
}

/** Every page of a GET /results query, following nextCursor. */
async function allPages(caller: ApiCaller, query: string, limit: number): Promise<ScheduledResult[]> {
  const out: ScheduledResult[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const sep = query === '' ? '' : '&';
    const page: ScheduledResultList = await api<ScheduledResultList>(caller, 'GET', `/api/v1/results?limit=${limit}${sep}${query}${cursor !== null ? `&cursor=${cursor}` : ''}`, undefined, 200);
    out.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) return out;
  }
  throw new Error('pagination did not end');
}

const T0 = Math.floor(Date.now() / 1000) - 3600;

/** Audit entries are written in onResponse, after the client already has its answer: poll briefly. */
async function auditOf(srv: TestServer, action: string, atLeast: number): Promise<AuditEntry[]> {
  const admin = await apiUser(srv, 'admin');
  for (let i = 0; ; i++) {
    const r = await api<{ items: AuditEntry[] }>(admin, 'GET', `/api/v1/audit?action=${action}`, undefined, 200);
    if (r.items.length >= atLeast || i >= 50) return r.items;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function seed(t: TestContext) {
  const srv = await startServer(t);
  const op = await apiUser(srv, 'operator');
  const ro = await apiUser(srv, 'readonly');
  await api<PackSaved>(op, 'POST', '/api/v1/packs', {
    name: 'it',
    global: true,
    queries: [
      { name: 'procs', sql: 'SELECT name, pid FROM processes;', ecsMapping: { 'process.name': { field: 'name' }, 'event.category': { value: ['process'] } } },
      { name: 'users', sql: 'SELECT username FROM users;', snapshot: true },
    ],
  }, 201);
  const a = newStandin(srv, 41);
  const b = newStandin(srv, 42);
  t.after(() => Promise.all([a.close(), b.close()]));
  const common = (s: OsquerydStandin, name: string, dt: number) => ({ name, hostIdentifier: s.hostIdentifier, unixTime: T0 + dt, counter: 1 });
  // Host a: 6 process changes over time, one of them an attacker-controlled command line.
  for (let i = 0; i < 5; i++) a.logResult(resultEventLine(common(a, 'pack/it/procs', i * 10), { name: `proc${i}`, pid: String(100 + i) }, i === 3 ? 'removed' : 'added'));
  a.logResult(resultEventLine(common(a, 'pack/it/procs', 50), { name: '=cmd|\' /C calc\'!A0', pid: '666' }, 'added'));
  // Host b: a snapshot of two users and a non-pack scheduled query.
  b.logResult(resultSnapshotLine(common(b, 'pack/it/users', 25), [{ username: 'alice' }, { username: 'Bob_100%' }]));
  b.logResult(resultEventLine(common(b, 'adhoc_schedule', 5), { x: '1' }, 'added'));
  for (const s of [a, b]) {
    const f = await s.flushLogs();
    assert.equal(f.results?.ok, true, JSON.stringify(f.results));
  }
  return { srv, op, ro, a, b, aId: await hostIdOf(srv, a), bId: await hostIdOf(srv, b) };
}

void describe('scheduled results API', () => {
  void it('should browse newest first with filters and keyset pages that visit every row exactly once', async (t) => {
    const { srv, ro, aId, bId } = await seed(t);
    const all = await allPages(ro, '', 3);
    assert.equal(all.length, 9);
    assert.equal(new Set(all.map((r) => r.id)).size, 9, 'no row twice');
    const times = all.map((r) => r.unixTime);
    assert.deepEqual(times, [...times].sort((x, y) => y - x), 'newest first');
    const top = all[0];
    assert.ok(top);
    assert.equal(top.unixTime, T0 + 50);
    assert.equal(top.time, new Date((T0 + 50) * 1000).toISOString());
    assert.equal(top.hostId, aId);
    assert.ok(top.hostname !== '');
    assert.equal(top.pack, 'it');
    assert.equal(top.query, 'procs');
    assert.equal(top.name, 'pack/it/procs');
    assert.deepEqual(top.columns, { name: '=cmd|\' /C calc\'!A0', pid: '666' });

    const ids = (rows: ScheduledResult[]) => rows.map((r) => r.id);
    assert.equal((await allPages(ro, 'pack=it&query=procs', 4)).length, 6);
    assert.equal((await allPages(ro, `hostId=${bId}`, 50)).length, 3);
    assert.equal((await allPages(ro, 'action=removed', 50)).length, 1);
    assert.equal((await allPages(ro, 'action=snapshot', 50)).length, 2);
    assert.equal((await allPages(ro, 'name=adhoc_schedule', 50)).length, 1);
    const window = await allPages(ro, `since=${new Date((T0 + 10) * 1000).toISOString()}&until=${new Date((T0 + 30) * 1000).toISOString()}`, 50);
    assert.deepEqual(window.map((r) => r.unixTime).sort(), [T0 + 10, T0 + 20, T0 + 25, T0 + 25]);
    // Free text over column values: case-insensitive, % and _ literal.
    assert.deepEqual((await allPages(ro, 'q=bob_100%25', 50)).map((r) => r.columns['username']), ['Bob_100%']);
    assert.equal((await allPages(ro, 'q=bob_1000', 50)).length, 0);
    // packId resolves to the pack's name.
    const packId = (await srv.app.store.packs.findByName('it'))?.id;
    assert.deepEqual(ids(await allPages(ro, `packId=${packId}`, 50)), ids(await allPages(ro, 'pack=it', 50)));

    // Bad input: unknown pack 404, malformed cursor 400, empty range 422, unknown action 400.
    await api(ro, 'GET', '/api/v1/results?packId=9999', undefined, 404);
    await api(ro, 'GET', '/api/v1/results?cursor=bm9wZQ', undefined, 400);
    await api(ro, 'GET', `/api/v1/results?since=${new Date().toISOString()}&until=${new Date(Date.now() - 1000).toISOString()}`, undefined, 422);
    await api(ro, 'GET', '/api/v1/results?action=deleted', undefined, 400);
    await api(ro, 'GET', `/api/v1/results?packId=${packId}&pack=other`, undefined, 422);
  });

  void it('should add the ECS document, with the original row under osquery, for pack queries that have a mapping', async (t) => {
    const { srv, ro } = await seed(t);
    // The ECS service is published by another area; a minimal one makes the outcome exact here.
    srv.app.core.hub.applyEcs = (mapping, row) => {
      const doc: Record<string, unknown> = {};
      for (const [field, spec] of Object.entries(mapping)) {
        const v = spec.field !== undefined ? row[spec.field] : spec.value;
        const path = field.split('.');
        let at = doc;
        for (const p of path.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
        at[path[path.length - 1] ?? field] = v;
      }
      return doc;
    };
    const procs = await allPages(ro, 'query=procs', 50);
    assert.equal(procs.length, 6);
    for (const r of procs) {
      assert.deepEqual(r.ecs, { process: { name: r.columns['name'] }, event: { category: ['process'] }, osquery: r.columns });
    }
    const users = await allPages(ro, 'query=users', 50);
    assert.ok(users.every((r) => r.ecs === null), 'no mapping, no ECS document');
  });

  void it('should export the same rows as streamed CSV (formula-safe) and NDJSON, and audit exports', async (t) => {
    const { srv, ro, op } = await seed(t);
    const csv = await ro.call('GET', '/api/v1/results.csv?pack=it');
    assert.equal(csv.status, 200, csv.text);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /^attachment; filename="mimir-results-.*\.csv"$/);
    const lines = csv.text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,time,unix_time,host_id,hostname,pack,query,name,action,columns,ecs');
    assert.equal(lines.length, 1 + 8);
    // The attacker-controlled value sits inside the JSON cell, which starts with "{": nothing a spreadsheet evaluates.
    assert.ok(lines[1]?.includes('""=cmd|'));
    assert.equal(csvCell('=1+1'), '"\'=1+1"');
    assert.equal(csvCell('@SUM(A1)'), '"\'@SUM(A1)"');
    assert.equal(csvCell('-2'), '-2', 'a plain number is data, not a formula');
    assert.equal(csvCell('-2+cmd'), '"\'-2+cmd"');
    assert.equal(csvCell('plain'), 'plain');
    assert.equal(csvCell('a,"b"'), '"a,""b"""');
    assert.equal(csvCell(-2), '-2', 'numbers we write ourselves are left alone');

    const nd = await ro.call('GET', '/api/v1/results.ndjson?pack=it&query=procs');
    assert.equal(nd.status, 200);
    assert.match(String(nd.headers['content-type']), /^application\/x-ndjson/);
    const rows = nd.text.trimEnd().split('\n').map((l) => JSON.parse(l) as ScheduledResult);
    const browsed = await allPages(ro, 'pack=it&query=procs', 50);
    assert.deepEqual(rows, browsed, 'each NDJSON line is exactly a GET /results item');
    const capped = await ro.call('GET', '/api/v1/results.ndjson?limit=2');
    assert.equal(capped.text.trimEnd().split('\n').length, 2);
    const none = await ro.call('GET', '/api/v1/results.ndjson?pack=nothing');
    assert.equal(none.status, 200);
    assert.equal(none.text, '');
    assert.equal((await ro.call('GET', '/api/v1/results.csv?packId=9999')).status, 404, 'a bad filter fails before streaming');
    assert.ok((await auditOf(srv, 'results.export', 3)).length >= 3);
    assert.equal((await op.call('GET', '/api/v1/results.csv')).status, 200);
  });

  void it('should list, show and stream finished carves to operators, audit downloads, and refuse read-only users', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const ro = await apiUser(srv, 'readonly');
    const a = newStandin(srv, 51);
    const b = newStandin(srv, 52);
    t.after(() => Promise.all([a.close(), b.close()]));
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    const ca = await a.carve(data, { blockSize: 1024 });
    assert.equal(ca.ok, true, ca.error);
    const cb = await b.carve(Buffer.from('second carve'), { blockSize: 1024 });
    assert.equal(cb.ok, true, cb.error);
    const aId = await hostIdOf(srv, a);

    const list = await api<CarveList>(op, 'GET', '/api/v1/carves', undefined, 200);
    assert.equal(list.items.length, 2, JSON.stringify(list));
    assert.ok((list.items[0]?.id ?? 0) > (list.items[1]?.id ?? 0), 'newest first');
    const paged = await api<CarveList>(op, 'GET', '/api/v1/carves?limit=1', undefined, 200);
    assert.ok(paged.nextCursor !== null);
    const page2 = await api<CarveList>(op, 'GET', `/api/v1/carves?limit=1&cursor=${paged.nextCursor}`, undefined, 200);
    assert.deepEqual([...paged.items, ...page2.items].map((c) => c.id), list.items.map((c) => c.id));
    assert.equal(page2.nextCursor, null);
    const mine = await api<CarveList>(op, 'GET', `/api/v1/carves?hostId=${aId}&status=complete`, undefined, 200);
    assert.equal(mine.items.length, 1, JSON.stringify(mine));
    const carve = mine.items[0];
    assert.ok(carve);
    assert.equal(carve.carveSize, 5000);
    assert.equal(carve.blockCount, 5);
    assert.equal(carve.downloadable, true);
    assert.ok(carve.hostname !== '');
    assert.equal('sessionId' in carve, false, 'the session id authenticates block uploads and stays private');
    assert.deepEqual(await api<Carve>(op, 'GET', `/api/v1/carves/${carve.id}`, undefined, 200), carve);

    const dl = await rawRequest(srv, `/api/v1/carves/${carve.id}/download`, { method: 'GET', headers: { authorization: `Bearer ${op.token}` } });
    assert.equal(dl.status, 200);
    assert.equal(dl.headers['content-type'], 'application/x-tar');
    assert.equal(dl.headers['content-length'], '5000');
    assert.equal(dl.headers['content-disposition'], `attachment; filename="carve-${carve.id}.tar"`);
    assert.equal(dl.headers['x-content-sha256'], carve.sha256);
    assert.ok(dl.text.length > 0);

    await api(op, 'GET', '/api/v1/carves/9999', undefined, 404);
    await api(op, 'GET', '/api/v1/carves/9999/download', undefined, 404);
    await api(ro, 'GET', '/api/v1/carves', undefined, 403);
    await api(ro, 'GET', `/api/v1/carves/${carve.id}/download`, undefined, 403);
    const audit = await auditOf(srv, 'carve.download', 1);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]?.targetId, String(carve.id));
  });
});
