/**
 * Labels (issue #4 "Labels and groups"; Fleet §1.6): built-in platform labels, manual labels, and
 * dynamic labels run on osqueryd stand-ins through the distributed queue — members when the query
 * returns rows, removed on an empty answer, unchanged when it fails — with the periodic re-run,
 * platform filters, and bad input.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostList, Label } from '@mimir/api-contract';
import { createDefaultQueryEngine, makeHostProfile, type HostTemplate, type QueryAnswer } from '@mimir/osquery-protocol/standin';
import { LABEL_QUERY_PREFIX } from '../../services/labels/labels.service.js';
import { api, apiUser, post, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';
import { hostsAreaOf } from './hosts.module.js';
import { errorOf, hostIdOf, seedHost, standin } from './hosts-test-utils.js';

type Answer = 'rows' | 'empty' | 'fail';
/** The label query reads a real osquery table (the SQL validator knows it); the stand-in answers it as told. */
const MARKER = '/etc/mimir-marker';
const LABEL_SQL = `SELECT 1 AS found FROM file WHERE path = '${MARKER}'`;

/** A stand-in whose answer to the label query the test controls; everything else as osquery would. */
async function host(srv: TestServer, t: { after(fn: () => unknown): void }, template: HostTemplate, seed: number, answer: { current: Answer }) {
  const profile = makeHostProfile(template, seed);
  const engine = createDefaultQueryEngine(profile);
  const os = standin(srv, profile, {
    queryEngine: (sql): QueryAnswer | Promise<QueryAnswer> => {
      if (!sql.includes(MARKER)) return engine(sql);
      if (answer.current === 'fail') return { status: 1, message: 'database or disk is full', rows: [] };
      return { status: 0, rows: answer.current === 'rows' ? [{ found: '1' }] : [] };
    },
  });
  t.after(() => os.close());
  assert.equal((await os.enroll()).ok, true);
  const first = await os.runDistributedOnce(); // vitals: platform and hostname
  assert.equal(first.write?.ok, true);
  return { os, id: await hostIdOf(srv, os), answer };
}

async function members(caller: ApiCaller, labelId: number): Promise<number[]> {
  const page = await api<HostList>(caller, 'GET', `/api/v1/labels/${labelId}/hosts?limit=1000`, undefined, 200);
  return page.items.map((h) => h.id).sort((a, b) => a - b);
}

const ids = (...xs: number[]) => [...xs].sort((a, b) => a - b);

void describe('labels API', () => {
  void it('should run a dynamic label on matching hosts: rows add, no rows remove, failures change nothing', async (t) => {
    const srv = await startServer(t);
    const operator = await apiUser(srv, 'operator');
    const reader = await apiUser(srv, 'readonly');
    const area = hostsAreaOf(srv.app.core);
    area.labels.stopTimer(); // this test drives the scheduler itself
    const a = await host(srv, t, 'ubuntu', 71, { current: 'rows' });
    const b = await host(srv, t, 'rhel', 72, { current: 'empty' });
    const c = await host(srv, t, 'macos', 73, { current: 'fail' });
    const d = await host(srv, t, 'windows', 74, { current: 'rows' });

    const created = await api<{ label: Label; queuedHosts: number }>(operator, 'POST', '/api/v1/labels', {
      name: 'has marker', type: 'dynamic', query: LABEL_SQL, platforms: ['darwin', 'linux'],
    }, 201);
    const id = created.label.id;
    const name = `${LABEL_QUERY_PREFIX}${id}`;
    assert.equal(created.queuedHosts, 3, 'the Windows host is outside the platform filter');
    assert.deepEqual(created.label.platforms, ['linux', 'darwin']);
    assert.equal(created.label.type, 'dynamic');

    const round = async () => {
      const out: Record<number, string[]> = {};
      for (const h of [a, b, c, d]) {
        const r = await h.os.runDistributedOnce();
        assert.equal(r.accepted, true);
        out[h.id] = r.executed;
      }
      await area.labels.settled();
      return out;
    };
    const r1 = await round();
    assert.deepEqual(r1[a.id], [name]);
    assert.deepEqual(r1[b.id], [name]);
    assert.deepEqual(r1[c.id], [name]);
    assert.deepEqual(r1[d.id], [], 'platform filter: never sent to Windows');
    assert.deepEqual(await members(reader, id), [a.id]);
    assert.equal((await api<Label>(reader, 'GET', `/api/v1/labels/${id}`, undefined, 200)).hostCount, 1);

    // The scheduler: never-scheduled hosts are queued at once and given a due time; nothing more is due.
    const area0 = Date.now();
    assert.equal(await area.labels.tick(area0), 4);
    assert.equal(await area.labels.tick(area0), 0, 'bounded: nothing due until the interval passes');
    const due = await srv.app.store.labels.dueAt(a.id);
    assert.ok(due !== undefined && due.due_at >= area0 + 3600_000 && due.due_at < area0 + 3600_000 * 1.1, 'interval + up to 10% jitter');

    // Round 2: answers flip. A empty → removed; C now has rows → added; B still empty.
    a.answer.current = 'empty';
    c.answer.current = 'rows';
    const r2 = await round();
    assert.deepEqual(r2[a.id], [name]);
    assert.deepEqual(await members(reader, id), [c.id]);

    // Round 3, an interval later: C fails this time and stays a member (failure ≠ "no rows").
    c.answer.current = 'fail';
    assert.equal(await area.labels.tick(area0 + 2 * 3600_000), 4);
    const r3 = await round();
    assert.deepEqual(r3[c.id], [name]);
    assert.deepEqual(r3[d.id], []);
    assert.deepEqual(await members(reader, id), [c.id]);

    // A host cannot forge membership of a label it was never asked about.
    const forged = await post(srv, '/api/v1/osquery/distributed/write', {
      node_key: await d.os.getNodeKey(), queries: { [name]: [{ found: '1' }] }, statuses: { [name]: 0 }, messages: { [name]: '' },
    });
    assert.equal(forged.status, 200);
    await area.labels.settled();
    assert.deepEqual(await members(reader, id), [c.id]);

    // New platforms: membership is cleared and the query re-runs where it now applies.
    const moved = await api<{ label: Label; queuedHosts: number }>(operator, 'PATCH', `/api/v1/labels/${id}`, { platforms: ['windows'] }, 200);
    assert.equal(moved.queuedHosts, 1);
    assert.equal(moved.label.hostCount, 0);
    const r4 = await round();
    assert.deepEqual(r4[d.id], [name]);
    assert.deepEqual(r4[c.id], []);
    assert.deepEqual(await members(reader, id), [d.id]);
    const hosts = await api<HostList>(reader, 'GET', `/api/v1/hosts?labelId=${id}`, undefined, 200);
    assert.deepEqual(hosts.items.map((h) => h.id), [d.id]);

    // Deleting the label drops its queued, undelivered runs.
    await api(operator, 'PATCH', `/api/v1/labels/${id}`, { query: `${LABEL_SQL} AND 2 = 2` }, 200);
    await api(operator, 'DELETE', `/api/v1/labels/${id}`, undefined, 200);
    const r5 = await round();
    assert.deepEqual(r5[d.id], []);
    assert.equal((await reader.call('GET', `/api/v1/labels/${id}`)).status, 404);
    assert.equal(await area.labels.tick(Date.now() + 10 * 3600_000), 0, 'no dynamic labels, no work');
    const audit = (await srv.app.store.audit.list({ limit: 20 })).map((e) => e.action);
    for (const action of ['label.create', 'label.update', 'label.delete']) assert.ok(audit.includes(action), action);
  });

  void it('should keep manual label membership as given and list labels with host counts', async (t) => {
    const srv = await startServer(t);
    const operator = await apiUser(srv, 'operator');
    const reader = await apiUser(srv, 'readonly');
    const admin = await apiUser(srv, 'admin');
    const h1 = await seedHost(srv);
    const h2 = await seedHost(srv, { platform: 'darwin' });
    const h3 = await seedHost(srv, { platform: 'windows' });

    const created = await api<{ label: Label; queuedHosts: number }>(operator, 'POST', '/api/v1/labels', { name: 'VIP', type: 'manual', hostIds: [h1, h2, h1] }, 201);
    const id = created.label.id;
    assert.equal(created.label.hostCount, 2);
    assert.equal(created.queuedHosts, 0);
    assert.deepEqual(await api(operator, 'POST', `/api/v1/labels/${id}/hosts`, { hostIds: [h3, h1] }, 200), { changed: 1, hostCount: 3 });
    const unknown = await operator.call('POST', `/api/v1/labels/${id}/hosts`, { hostIds: [h2, 999_999] });
    assert.equal(unknown.status, 422);
    assert.match(JSON.stringify(errorOf(unknown).details), /999999/);
    assert.deepEqual(await api(operator, 'POST', `/api/v1/labels/${id}/hosts/remove`, { hostIds: [h1, 999_999] }, 200), { changed: 1, hostCount: 2 });
    assert.deepEqual(await members(reader, id), ids(h2, h3));
    // Deleting a host removes it from its labels.
    await api(admin, 'DELETE', `/api/v1/hosts/${h3}`, undefined, 200);
    assert.deepEqual(await members(reader, id), [h2]);
    assert.equal((await api<Label>(reader, 'GET', `/api/v1/labels/${id}`, undefined, 200)).hostCount, 1);

    // Built-in labels come first, computed from the platform, and are read-only.
    const list = await api<{ items: Label[]; nextCursor: string | null }>(reader, 'GET', '/api/v1/labels', undefined, 200);
    assert.deepEqual(list.items.map((l) => [l.name, l.type, l.hostCount]), [
      ['All hosts', 'builtin', 2], ['Linux', 'builtin', 1], ['macOS', 'builtin', 1], ['Windows', 'builtin', 0], ['FreeBSD', 'builtin', 0], ['VIP', 'manual', 1],
    ]);
    assert.ok(list.items.slice(0, 5).every((l) => l.readOnly));
    const linux = list.items[1];
    assert.ok(linux);
    assert.deepEqual(await members(reader, linux.id), [h1]);
    for (const [method, path, body] of [
      ['PATCH', `/api/v1/labels/${linux.id}`, { name: 'Penguins' }],
      ['DELETE', `/api/v1/labels/${linux.id}`, undefined],
      ['POST', `/api/v1/labels/${linux.id}/hosts`, { hostIds: [h2] }],
    ] as const) {
      const r = await operator.call(method, path, body);
      assert.equal(r.status, 409, `${method} ${path}`);
      assert.equal(errorOf(r).code, 'label_read_only');
    }
    assert.equal((await api<Label>(reader, 'GET', `/api/v1/labels/${linux.id}`, undefined, 200)).name, 'Linux');

    // Paging, type and text filters.
    const p1 = await api<{ items: Label[]; nextCursor: string | null }>(reader, 'GET', '/api/v1/labels?limit=4', undefined, 200);
    assert.equal(p1.items.length, 4);
    assert.ok(p1.nextCursor !== null);
    const p2 = await api<{ items: Label[]; nextCursor: string | null }>(reader, 'GET', `/api/v1/labels?limit=4&cursor=${p1.nextCursor}`, undefined, 200);
    assert.deepEqual(p2.items.map((l) => l.name), ['FreeBSD', 'VIP']);
    assert.equal(p2.nextCursor, null);
    assert.deepEqual((await api<{ items: Label[] }>(reader, 'GET', '/api/v1/labels?type=manual', undefined, 200)).items.map((l) => l.name), ['VIP']);
    assert.deepEqual((await api<{ items: Label[] }>(reader, 'GET', '/api/v1/labels?q=mac', undefined, 200)).items.map((l) => l.name), ['macOS']);

    // Renaming a manual label keeps its hosts.
    const renamed = await api<{ label: Label }>(operator, 'PATCH', `/api/v1/labels/${id}`, { name: 'VIPs', description: 'the important ones' }, 200);
    assert.equal(renamed.label.name, 'VIPs');
    assert.equal(renamed.label.hostCount, 1);
  });

  void it('should refuse bad label input with 400/404/409/422 and change nothing', async (t) => {
    const srv = await startServer(t);
    const operator = await apiUser(srv, 'operator');
    const reader = await apiUser(srv, 'readonly');
    const h = await seedHost(srv);
    const dynamic = await api<{ label: Label }>(operator, 'POST', '/api/v1/labels', { name: 'dyn', type: 'dynamic', query: 'SELECT 1' }, 201);
    const manual = await api<{ label: Label }>(operator, 'POST', '/api/v1/labels', { name: 'man', type: 'manual' }, 201);
    // The queries area's SQL validator is used when published.
    srv.app.core.hub.sqlValidator = {
      validate: (sql) => ({ errors: sql.includes('DROP') ? [{ severity: 'error', message: 'only SELECT is allowed' }] : [], warnings: [], tables: [] }),
    };
    const before = await srv.app.store.labels.listAll();
    const cases: Array<[string, string, unknown, number, string]> = [
      ['POST', '/api/v1/labels', { name: 'x', type: 'dynamic' }, 422, '/query'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'dynamic', query: '   ' }, 422, '/query'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'dynamic', query: 'DROP TABLE x' }, 422, 'only SELECT'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'dynamic', query: 'SELECT 1', hostIds: [h] }, 422, '/hostIds'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'manual', query: 'SELECT 1' }, 422, '/query'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'manual', platforms: ['linux'] }, 422, '/platforms'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'manual', hostIds: [999_999] }, 422, '999999'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'builtin' }, 400, '/type'],
      ['POST', '/api/v1/labels', { name: 'x', type: 'dynamic', query: 'SELECT 1', platforms: ['beos'] }, 400, '/platforms'],
      ['POST', '/api/v1/labels', { name: '', type: 'manual' }, 400, '/name'],
      ['POST', '/api/v1/labels', { type: 'manual' }, 400, 'name'],
      ['POST', '/api/v1/labels', { name: 'Linux', type: 'manual' }, 409, '/name'],
      ['POST', '/api/v1/labels', { name: 'dyn', type: 'manual' }, 409, '/name'],
      ['PATCH', `/api/v1/labels/${dynamic.label.id}`, { query: 'DROP TABLE y' }, 422, 'only SELECT'],
      ['PATCH', `/api/v1/labels/${manual.label.id}`, { query: 'SELECT 1' }, 422, '/query'],
      ['PATCH', `/api/v1/labels/${manual.label.id}`, { name: 'dyn' }, 409, '/name'],
      ['PATCH', '/api/v1/labels/999999', { name: 'y' }, 404, ''],
      ['DELETE', '/api/v1/labels/999999', undefined, 404, ''],
      ['GET', '/api/v1/labels/999999', undefined, 404, ''],
      ['GET', '/api/v1/labels/999999/hosts', undefined, 404, ''],
      ['GET', '/api/v1/labels/abc', undefined, 400, '/id'],
      ['GET', '/api/v1/labels?type=weird', undefined, 400, '/type'],
      ['GET', '/api/v1/labels?cursor=xyz', undefined, 400, '/cursor'],
      ['POST', `/api/v1/labels/${dynamic.label.id}/hosts`, { hostIds: [h] }, 422, '/hostIds'],
      ['POST', `/api/v1/labels/${manual.label.id}/hosts`, { hostIds: [] }, 400, '/hostIds'],
      ['POST', `/api/v1/labels/${manual.label.id}/hosts`, { hostIds: ['a'] }, 400, '/hostIds'],
      ['POST', '/api/v1/labels/999999/hosts', { hostIds: [h] }, 404, ''],
      ['POST', '/api/v1/labels/999999/hosts/remove', { hostIds: [h] }, 404, ''],
    ];
    for (const [method, path, body, status, needle] of cases) {
      const r = await operator.call(method, path, body);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)}: ${r.text}`);
      const e = errorOf(r);
      if (needle !== '') assert.ok(JSON.stringify(e).includes(needle), `${method} ${path}: ${JSON.stringify(e)}`);
    }
    assert.equal((await reader.call('POST', '/api/v1/labels', { name: 'r', type: 'manual' })).status, 403);
    assert.deepEqual(await srv.app.store.labels.listAll(), before, 'nothing changed');
    assert.equal(await srv.app.store.labels.memberCount(manual.label.id), 0);
  });
});
