/**
 * Packs over the operator API on a real server (seed 004 "Schedule queries with packs"): CRUD with
 * every field, validation that blocks and changes nothing, duplicates, RBAC, audit, prebuilt packs
 * and copies — and the osquery side: a stand-in host in a targeted group gets the pack in its
 * config with numbers as numbers and the shard, and loses it when the pack is disabled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry, Pack, PackList, PackSaved, PrebuiltLoadResult } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import { loadPrebuiltPacks } from '../../services/packs/pack-assets.js';
import { platformFamilies } from '../../services/packs/pack-rules.js';
import { api, apiUser, startServer, type TestServer } from '../../../test/helper.js';

interface ErrorReply { error: { code: string; message: string; details?: Array<{ path: string; message: string; query?: string }> } }

async function addGroup(srv: TestServer, name: string): Promise<{ id: number; secret: string }> {
  const now = Date.now();
  const id = await srv.app.store.groups.create(name, now);
  const secret = `${name}-secret-0123456789`;
  await srv.app.store.groups.addSecret(id, secret, name, now);
  srv.app.services.secrets.invalidate();
  return { id, secret };
}

function standin(srv: TestServer, secret: string, seed: number, os: 'ubuntu' | 'windows' | 'macos' = 'ubuntu'): OsquerydStandin {
  return new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: secret, profile: makeHostProfile(os, seed), sleep: () => Promise.resolve() });
}

const fullQuery = {
  name: 'listening_ports',
  sql: 'SELECT pid, port, protocol FROM listening_ports;',
  interval: 300,
  snapshot: false,
  removed: false,
  platform: 'linux,darwin',
  minOsqueryVersion: '5.0.1',
  shard: 25,
  denylist: false,
  timeout: 120,
  ecsMapping: { 'process.pid': { field: 'pid' }, 'event.category': { value: ['network'] } },
  description: 'Listening sockets',
  value: 'Spots new listeners',
};

/** Audit actions so far. Entries are written in onResponse, after the client has its answer: wait for `expect`. */
async function auditActions(srv: TestServer, expect: readonly string[] = []): Promise<string[]> {
  const admin = await apiUser(srv, 'admin');
  for (let i = 0; ; i++) {
    const r = await api<{ items: AuditEntry[] }>(admin, 'GET', '/api/v1/audit?limit=200', undefined, 200);
    const actions = r.items.map((x) => x.action);
    if (expect.every((a) => actions.includes(a)) || i >= 50) return actions;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

void describe('packs API', () => {
  void it('should create, read, list, update and delete a pack with every field, and audit each change', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const servers = await addGroup(srv, 'servers');

    const created = await api<PackSaved>(op, 'POST', '/api/v1/packs', {
      name: 'it-baseline',
      description: 'Baseline',
      enabled: true,
      platform: 'linux,darwin',
      minOsqueryVersion: '5.2.0',
      discovery: ["SELECT 1 FROM system_info WHERE hostname LIKE 'web%';"],
      targets: [{ groupId: servers.id, shard: 50 }],
      queries: [fullQuery, { name: 'uptime', sql: 'SELECT total_seconds FROM uptime;' }, { name: 'tagged', sql: 'SELECT 1;', shard: null, ecsMapping: { tags: { value: 'x' } } }],
    }, 201);
    const p = created.pack;
    assert.equal(p.name, 'it-baseline');
    assert.equal(p.readOnly, false);
    assert.equal(p.prebuiltId, null);
    assert.equal(p.global, false);
    assert.deepEqual(p.discovery, ["SELECT 1 FROM system_info WHERE hostname LIKE 'web%';"]);
    assert.deepEqual(p.targets, [{ groupId: servers.id, groupName: 'servers', shard: 50 }]);
    assert.equal(p.queryCount, 3);
    // Scalars and lists arrive as sent (no Ajv union coercion), and null means "every host".
    const tagged = p.queries.find((q) => q.name === 'tagged');
    assert.deepEqual([tagged?.shard, tagged?.ecsMapping], [null, { tags: { value: 'x' } }]);
    const lp = p.queries.find((q) => q.name === 'listening_ports');
    assert.ok(lp);
    const { id: _id, ...rest } = lp;
    assert.deepEqual(rest, fullQuery);
    // Defaults: osquery's schedule_default_interval, differential with removed rows, watchdog may denylist, timeout 60.
    const up = p.queries.find((q) => q.name === 'uptime');
    assert.deepEqual(
      { interval: up?.interval, snapshot: up?.snapshot, removed: up?.removed, denylist: up?.denylist, timeout: up?.timeout, shard: up?.shard, ecsMapping: up?.ecsMapping },
      { interval: 3600, snapshot: false, removed: true, denylist: true, timeout: 60, shard: null, ecsMapping: {} },
    );

    const got = await api<Pack>(op, 'GET', `/api/v1/packs/${p.id}`, undefined, 200);
    assert.deepEqual(got, p);
    const list = await api<PackList>(op, 'GET', '/api/v1/packs', undefined, 200);
    assert.deepEqual(list.items.map((i) => [i.name, i.queryCount]), [['it-baseline', 3]]);
    assert.equal('queries' in (list.items[0] ?? {}), false, 'the list carries summaries');

    // Update: rename, switch to global with a shard, replace the queries (matched by name: ids stay).
    const updated = await api<PackSaved>(op, 'PATCH', `/api/v1/packs/${p.id}`, {
      name: 'it-baseline-2', global: true, globalShard: 10,
      queries: [{ ...fullQuery, interval: 600 }, { name: 'os_version', sql: 'SELECT name, version FROM os_version;', snapshot: true }],
    }, 200);
    assert.equal(updated.pack.name, 'it-baseline-2');
    assert.equal(updated.pack.global, true);
    assert.equal(updated.pack.globalShard, 10);
    assert.deepEqual(updated.pack.targets, [], 'going global drops per-group targets');
    assert.deepEqual(updated.pack.queries.map((q) => q.name), ['listening_ports', 'os_version']);
    assert.equal(updated.pack.queries.find((q) => q.name === 'listening_ports')?.id, lp.id, 'a query kept by name keeps its id');
    assert.equal(updated.pack.queries.find((q) => q.name === 'listening_ports')?.interval, 600);

    const del = await api<{ ok: boolean }>(op, 'DELETE', `/api/v1/packs/${p.id}`, undefined, 200);
    assert.equal(del.ok, true);
    await api(op, 'GET', `/api/v1/packs/${p.id}`, undefined, 404);
    assert.deepEqual(await srv.app.store.packs.queries(p.id), []);

    const actions = await auditActions(srv, ['pack.create', 'pack.update', 'pack.delete']);
    for (const a of ['pack.create', 'pack.update', 'pack.delete']) assert.ok(actions.includes(a), `${a} audited: ${actions.join(',')}`);
  });

  void it('should refuse bad input with 422 and per-query details, and change nothing', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const g = await addGroup(srv, 'servers');
    const before = await auditActions(srv);

    const r = await op.call('POST', '/api/v1/packs', {
      name: 'bad/name',
      platform: 'plan9',
      globalShard: 0,
      targets: [{ groupId: g.id, shard: 101 }, { groupId: g.id }, { groupId: 999_999 }],
      global: true,
      queries: [
        { name: 'zero', sql: 'SELECT 1;', interval: 0 },
        { name: 'too_long', sql: 'SELECT 1;', interval: 604_801 },
        { name: 'quick', sql: 'SELECT 1;', timeout: 30 },
        { name: 'slow', sql: 'SELECT 1;', timeout: 901 },
        { name: 'sharded', sql: 'SELECT 1;', shard: 0 },
        { name: 'processes_counter', sql: 'SELECT 1;' },
        { name: 'cache.x', sql: 'SELECT 1;' },
        { name: 'zero', sql: 'SELECT 2;' },
        { name: 'empty', sql: '   ' },
        { name: 'ecs', sql: 'SELECT 1;', ecsMapping: { 'user.name': { field: 'a', value: 'b' }, 'osquery.x': { field: 'a' }, 'Not A Field': { value: 'x' } } },
        { name: 'versioned', sql: 'SELECT 1;', minOsqueryVersion: 'latest' },
      ],
    });
    assert.equal(r.status, 422, r.text);
    const body = r.json as ErrorReply;
    assert.equal(body.error.code, 'validation_failed');
    const details = body.error.details ?? [];
    const has = (path: string, query?: string) => details.some((d) => d.path === path && (query === undefined || d.query === query));
    for (const path of ['/name', '/platform', '/globalShard', '/targets/0/shard', '/targets/1/groupId', '/targets/2/groupId', '/targets']) {
      assert.ok(has(path), `expected a finding at ${path}: ${JSON.stringify(details)}`);
    }
    assert.ok(has('/queries/0/interval', 'zero'));
    assert.ok(has('/queries/1/interval', 'too_long'));
    assert.ok(has('/queries/2/timeout', 'quick'));
    assert.ok(has('/queries/3/timeout', 'slow'));
    assert.ok(has('/queries/4/shard', 'sharded'));
    assert.ok(has('/queries/5/name', 'processes_counter'), 'names ending in counter are reserved by osquery');
    assert.ok(has('/queries/6/name', 'cache.x'));
    assert.ok(has('/queries/7/name', 'zero'), 'duplicate query name');
    assert.ok(has('/queries/8/sql', 'empty'));
    assert.ok(has('/queries/9/ecsMapping/user.name', 'ecs'));
    assert.ok(has('/queries/9/ecsMapping/osquery.x', 'ecs'));
    assert.ok(has('/queries/9/ecsMapping/Not A Field', 'ecs'));
    assert.ok(has('/queries/10/minOsqueryVersion', 'versioned'));

    // A bad update changes nothing either.
    const ok = await api<PackSaved>(op, 'POST', '/api/v1/packs', { name: 'fine', queries: [{ name: 'q', sql: 'SELECT 1;' }] }, 201);
    const bad = await op.call('PATCH', `/api/v1/packs/${ok.pack.id}`, { description: 'changed', queries: [{ name: 'q', sql: 'SELECT 1;', interval: 0 }] });
    assert.equal(bad.status, 422);
    assert.deepEqual(await api<Pack>(op, 'GET', `/api/v1/packs/${ok.pack.id}`, undefined, 200), ok.pack);

    // Schema-level type errors are 400.
    assert.equal((await op.call('POST', '/api/v1/packs', { name: 'x', queries: [{ name: 'q', sql: 'SELECT 1;', interval: 'often' }] })).status, 400);

    const list = await api<PackList>(op, 'GET', '/api/v1/packs', undefined, 200);
    assert.deepEqual(list.items.map((i) => i.name), ['fine']);
    const after = await auditActions(srv, ['pack.create']);
    assert.deepEqual(after.filter((a) => a.startsWith('pack.')), [...before.filter((a) => a.startsWith('pack.')), 'pack.create']);
  });

  void it('should answer 404 for unknown ids and 409 for duplicate names', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    await api(op, 'GET', '/api/v1/packs/999', undefined, 404);
    await api(op, 'PATCH', '/api/v1/packs/999', { enabled: false }, 404);
    await api(op, 'DELETE', '/api/v1/packs/999', undefined, 404);
    await api(op, 'POST', '/api/v1/packs/999/copy', {}, 404);
    await api(op, 'GET', '/api/v1/packs/999/status', undefined, 404);
    const a = await api<PackSaved>(op, 'POST', '/api/v1/packs', { name: 'a' }, 201);
    await api<PackSaved>(op, 'POST', '/api/v1/packs', { name: 'b' }, 201);
    const dup = await op.call('POST', '/api/v1/packs', { name: 'a' });
    assert.equal(dup.status, 409);
    assert.equal((dup.json as ErrorReply).error.code, 'conflict');
    assert.equal((await op.call('PATCH', `/api/v1/packs/${a.pack.id}`, { name: 'b' })).status, 409);
    assert.equal((await op.call('POST', `/api/v1/packs/${a.pack.id}/copy`, { name: 'b' })).status, 409);
  });

  void it('should let every role read packs and only operators and admins change them', async (t) => {
    const srv = await startServer(t);
    const ro = await apiUser(srv, 'readonly');
    const op = await apiUser(srv, 'operator');
    const admin = await apiUser(srv, 'admin');
    const p = await api<PackSaved>(admin, 'POST', '/api/v1/packs', { name: 'p1' }, 201);
    await api(ro, 'GET', '/api/v1/packs', undefined, 200);
    await api(ro, 'GET', `/api/v1/packs/${p.pack.id}`, undefined, 200);
    await api(ro, 'GET', `/api/v1/packs/${p.pack.id}/status`, undefined, 200);
    await api(ro, 'GET', '/api/v1/packs/examples', undefined, 200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/packs', { name: 'p2' }],
      ['PATCH', `/api/v1/packs/${p.pack.id}`, { enabled: false }],
      ['DELETE', `/api/v1/packs/${p.pack.id}`, undefined],
      ['POST', `/api/v1/packs/${p.pack.id}/copy`, {}],
      ['POST', '/api/v1/packs/import', { name: 'x', conf: '{"queries":{}}' }],
      ['POST', '/api/v1/packs/prebuilt/load', undefined],
      ['POST', '/api/v1/packs/examples/osquery-monitoring/import', {}],
    ] as const) {
      const r = await ro.call(method, path, body);
      assert.equal(r.status, 403, `${method} ${path} as readonly: ${r.text}`);
    }
    await api(op, 'PATCH', `/api/v1/packs/${p.pack.id}`, { enabled: false }, 200);
    const anon = await ro.call('GET', '/api/v1/packs');
    assert.equal(anon.status, 200);
    const noToken = await srv.app.fastify.inject({ method: 'GET', url: '/api/v1/packs' });
    assert.equal(noToken.statusCode, 401);
    assert.equal((await srv.app.store.packs.findById(p.pack.id))?.enabled, 0);
  });

  void it('should page the list by name and search name and description', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    for (const n of ['delta', 'alpha', 'charlie', 'bravo', 'echo']) {
      await api(op, 'POST', '/api/v1/packs', { name: n, description: n === 'echo' ? 'has 100%_literal text' : '', enabled: n !== 'bravo' }, 201);
    }
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: PackList = await api<PackList>(op, 'GET', `/api/v1/packs?limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`, undefined, 200);
      names.push(...page.items.map((i) => i.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(names, ['alpha', 'bravo', 'charlie', 'delta', 'echo']);
    const search = await api<PackList>(op, 'GET', `/api/v1/packs?q=${encodeURIComponent('100%_')}`, undefined, 200);
    assert.deepEqual(search.items.map((i) => i.name), ['echo']);
    const caseless = await api<PackList>(op, 'GET', '/api/v1/packs?q=CHAR', undefined, 200);
    assert.deepEqual(caseless.items.map((i) => i.name), ['charlie']);
    const inactive = await api<PackList>(op, 'GET', '/api/v1/packs?enabled=false', undefined, 200);
    assert.deepEqual(inactive.items.map((i) => i.name), ['bravo']);
    assert.equal((await op.call('GET', '/api/v1/packs?cursor=bm90LWpzb24')).status, 400);
  });

  void it('should deliver a targeted pack to hosts of that group with numbers as numbers and the shard, and drop it when disabled', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const servers = await addGroup(srv, 'servers');
    const inGroup = standin(srv, servers.secret, 11);
    const otherGroup = standin(srv, srv.secret, 12);
    const windows = standin(srv, servers.secret, 13, 'windows');
    t.after(() => Promise.all([inGroup.close(), otherGroup.close(), windows.close()]));

    const created = await api<PackSaved>(op, 'POST', '/api/v1/packs', {
      name: 'linux-watch',
      platform: 'linux',
      minOsqueryVersion: '5.0.0',
      discovery: ['SELECT 1 FROM os_version WHERE platform_like = \'debian\';'],
      targets: [{ groupId: servers.id, shard: 40 }],
      queries: [
        { name: 'ports', sql: 'SELECT port FROM listening_ports;', interval: 120, shard: 10, removed: false, denylist: false, description: 'ports', value: 'v' },
        { name: 'os', sql: 'SELECT name FROM os_version;', interval: 86400, snapshot: true },
      ],
    }, 201);

    const cfg = await inGroup.config();
    assert.ok(cfg.ok, JSON.stringify(cfg));
    const packs = cfg.body['packs'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(packs['linux-watch'], {
      queries: {
        os: { query: 'SELECT name FROM os_version;', interval: 86400, snapshot: true },
        ports: { query: 'SELECT port FROM listening_ports;', interval: 120, removed: false, shard: 10, denylist: false, description: 'ports', value: 'v' },
      },
      platform: 'linux',
      version: '5.0.0',
      shard: 40,
      discovery: ['SELECT 1 FROM os_version WHERE platform_like = \'debian\';'],
    });
    const other = await otherGroup.config();
    assert.ok(other.ok);
    assert.equal((other.body['packs'] as Record<string, unknown>)['linux-watch'], undefined, 'another group does not get it');
    const win = await windows.config();
    assert.ok(win.ok);
    assert.equal((win.body['packs'] as Record<string, unknown>)['linux-watch'], undefined, 'a linux pack is not sent to Windows hosts');

    // The same host sees the pack disappear at its next config fetch once it is disabled…
    await api(op, 'PATCH', `/api/v1/packs/${created.pack.id}`, { enabled: false }, 200);
    const off = await inGroup.config();
    assert.ok(off.ok);
    assert.equal((off.body['packs'] as Record<string, unknown>)['linux-watch'], undefined);
    // …and reappear, now global at 20% for every group, when enabled again.
    await api(op, 'PATCH', `/api/v1/packs/${created.pack.id}`, { enabled: true, global: true, globalShard: 20 }, 200);
    const global = await otherGroup.config();
    assert.ok(global.ok);
    assert.equal((global.body['packs'] as Record<string, { shard?: unknown }>)['linux-watch']?.shard, 20);
    // Deleting it removes it everywhere.
    await api(op, 'DELETE', `/api/v1/packs/${created.pack.id}`, undefined, 200);
    const gone = await inGroup.config();
    assert.ok(gone.ok);
    assert.deepEqual(gone.body['packs'], {});
  });

  void it('should load prebuilt packs read-only and inactive, allow deployment changes only, reload idempotently and copy them', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const servers = await addGroup(srv, 'servers');

    const first = await api<PrebuiltLoadResult>(op, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    assert.deepEqual(first.items.map((i) => [i.prebuiltId, i.outcome]).sort(), [
      ['mimir-compliance', 'created'], ['mimir-inventory', 'created'], ['mimir-security-basics', 'created'],
    ]);
    const inventoryId = first.items.find((i) => i.prebuiltId === 'mimir-inventory')?.packId;
    assert.ok(inventoryId !== null && inventoryId !== undefined);
    const inventory = await api<Pack>(op, 'GET', `/api/v1/packs/${inventoryId}`, undefined, 200);
    assert.equal(inventory.readOnly, true);
    assert.equal(inventory.enabled, false, 'prebuilt packs arrive inactive (seed 004: turn on the Active toggle)');
    assert.equal(inventory.prebuiltId, 'mimir-inventory');
    assert.ok(inventory.queries.length >= 5);

    // Queries and description are locked; Active and groups are not.
    const locked = await op.call('PATCH', `/api/v1/packs/${inventoryId}`, { queries: [] });
    assert.equal(locked.status, 422);
    assert.equal((locked.json as ErrorReply).error.code, 'pack_read_only');
    assert.equal((await op.call('PATCH', `/api/v1/packs/${inventoryId}`, { description: 'x', enabled: true })).status, 422);
    const deployed = await api<PackSaved>(op, 'PATCH', `/api/v1/packs/${inventoryId}`, { enabled: true, targets: [{ groupId: servers.id, shard: 30 }] }, 200);
    assert.equal(deployed.pack.enabled, true);
    assert.deepEqual(deployed.pack.targets.map((x) => [x.groupId, x.shard]), [[servers.id, 30]]);

    // Loading again changes nothing and keeps the deployment.
    const again = await api<PrebuiltLoadResult>(op, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    assert.deepEqual(again.items.map((i) => i.outcome), ['unchanged', 'unchanged', 'unchanged']);
    // A drifted prebuilt pack (e.g. an older release's queries) is brought back to the shipped one.
    await srv.app.store.packs.replaceQueries(inventoryId, []);
    const updated = await api<PrebuiltLoadResult>(op, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    assert.equal(updated.items.find((i) => i.prebuiltId === 'mimir-inventory')?.outcome, 'updated');
    const after = await api<Pack>(op, 'GET', `/api/v1/packs/${inventoryId}`, undefined, 200);
    assert.equal(after.queries.length, inventory.queries.length);
    assert.equal(after.enabled, true);
    assert.deepEqual(after.targets.map((x) => [x.groupId, x.shard]), [[servers.id, 30]]);

    // Copy: editable, inactive, named <name>-copy, same queries.
    const copy = await api<Pack>(op, 'POST', `/api/v1/packs/${inventoryId}/copy`, {}, 201);
    assert.equal(copy.name, 'mimir-inventory-copy');
    assert.equal(copy.readOnly, false);
    assert.equal(copy.enabled, false);
    assert.equal(copy.prebuiltId, null);
    assert.deepEqual(copy.queries.map((q) => ({ ...q, id: 0 })), inventory.queries.map((q) => ({ ...q, id: 0 })));
    const second = await api<Pack>(op, 'POST', `/api/v1/packs/${inventoryId}/copy`, undefined, 201);
    assert.equal(second.name, 'mimir-inventory-copy-2');
    const edited = await api<PackSaved>(op, 'PATCH', `/api/v1/packs/${copy.id}`, { queries: [{ name: 'only', sql: 'SELECT 1;' }] }, 200);
    assert.deepEqual(edited.pack.queries.map((q) => q.name), ['only']);

    // An operator pack that took a prebuilt name is never overwritten.
    await api(op, 'DELETE', `/api/v1/packs/${inventoryId}`, undefined, 200);
    await api(op, 'PATCH', `/api/v1/packs/${copy.id}`, { name: 'mimir-inventory' }, 200);
    const clash = await api<PrebuiltLoadResult>(op, 'POST', '/api/v1/packs/prebuilt/load', undefined, 200);
    const item = clash.items.find((i) => i.prebuiltId === 'mimir-inventory');
    assert.equal(item?.outcome, 'skipped');
    assert.deepEqual((await api<Pack>(op, 'GET', `/api/v1/packs/${copy.id}`, undefined, 200)).queries.map((q) => q.name), ['only']);
    const actions = await auditActions(srv, ['pack.prebuilt_load', 'pack.copy']);
    assert.ok(actions.includes('pack.prebuilt_load'));
    assert.ok(actions.includes('pack.copy'));
  });

  void it('should ship prebuilt packs whose SQL is valid for the 5.23.1 schema on the platforms they name', async (t) => {
    const srv = await startServer(t);
    const validator = srv.app.core.hub.sqlValidator;
    if (validator === undefined) {
      t.skip('no SQL validator published on this server');
      return;
    }
    const packs = await loadPrebuiltPacks();
    assert.deepEqual(packs.map((p) => p.id), ['mimir-compliance', 'mimir-inventory', 'mimir-security-basics']);
    for (const p of packs) {
      for (const q of p.pack.queries ?? []) {
        const platforms = platformFamilies(q.platform ?? '');
        const v = validator.validate(q.sql, platforms === undefined ? undefined : { platforms });
        assert.deepEqual([...v.errors, ...v.warnings], [], `${p.id}/${q.name}`);
      }
    }
  });
});
