/**
 * Hosts API (issue #4 "Hosts"): keyset pagination under every sort, every filter and the count,
 * the cached summary, CSV export (escaping, formula guard), host details, software pages, delete,
 * refetch end to end with the osqueryd stand-in, and bad input on every route.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Host, HostDetail, HostList, HostSummary } from '@mimir/api-contract';
import { makeHostProfile } from '@mimir/osquery-protocol/standin';
import { api, apiUser, rawRequest, startServer, type ApiCaller } from '../../../test/helper.js';
import { errorOf, hostIdOf, seedHost, standin } from './hosts-test-utils.js';

const WINDOW_MS = 120_000; // test servers: max(10 s, 60 s) + 60 s buffer

async function allPages(caller: ApiCaller, query: string, limit: number): Promise<{ ids: number[]; pages: number }> {
  const ids: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = query === '' ? '' : '&';
    const path: string = `/api/v1/hosts?${query}${sep}limit=${limit}${cursor !== null ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: HostList = await api<HostList>(caller, 'GET', path, undefined, 200);
    assert.ok(page.items.length <= limit);
    ids.push(...page.items.map((h) => h.id));
    cursor = page.nextCursor;
    pages++;
    assert.ok(pages < 100, 'pagination terminates');
  } while (cursor !== null);
  return { ids, pages };
}

async function listIds(caller: ApiCaller, query: string): Promise<number[]> {
  const page = await api<HostList>(caller, 'GET', `/api/v1/hosts?${query}&limit=1000`, undefined, 200);
  return page.items.map((h) => h.id).sort((a, b) => a - b);
}

async function countOf(caller: ApiCaller, query: string): Promise<number> {
  return (await api<{ count: number }>(caller, 'GET', `/api/v1/hosts/count?${query}`, undefined, 200)).count;
}

void describe('hosts API', () => {
  void it('should page through every sort in both directions without skipping or repeating hosts', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const now = Date.now();
    const platforms = ['linux', 'darwin', 'windows'];
    const versions = ['5.9.1', '5.10.2', '5.23.1'];
    const expected: Array<{ id: number; hostname: string; enrolled: number; version: string; platform: string; seen: number }> = [];
    for (let i = 0; i < 23; i++) {
      // Repeated values on purpose: ties must be broken by id across page boundaries.
      const h = {
        hostname: `h-${String.fromCharCode(97 + (i % 7))}`,
        enrolled: now - (i % 5) * 3_600_000,
        version: versions[i % 3] ?? '',
        platform: platforms[i % 3] ?? '',
        seen: i % 4 === 0 ? 0 : now - (i % 6) * 1000,
      };
      const id = await seedHost(srv, {
        hostname: h.hostname, enrolled_at: h.enrolled, osquery_version: h.version, platform: h.platform, ...(h.seen > 0 ? { seenAt: h.seen } : {}),
      });
      expected.push({ id, ...h });
    }
    const keyOf: Record<string, (e: (typeof expected)[number]) => string | number> = {
      hostname: (e) => e.hostname, enrolledAt: (e) => e.enrolled, osqueryVersion: (e) => e.version, platform: (e) => e.platform, lastSeen: (e) => e.seen,
    };
    for (const [sort, key] of Object.entries(keyOf)) {
      for (const order of ['asc', 'desc'] as const) {
        const want = [...expected].sort((a, b) => {
          const ka = key(a);
          const kb = key(b);
          const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
          return order === 'asc' ? c : -c;
        }).map((e) => e.id);
        const got = await allPages(admin, `sort=${sort}&order=${order}`, 4);
        assert.deepEqual(got.ids, want, `${sort} ${order}`);
        assert.equal(got.pages, 6);
      }
    }
    // Default: hostname ascending.
    const first = await api<HostList>(admin, 'GET', '/api/v1/hosts?limit=5', undefined, 200);
    assert.equal(first.items[0]?.hostname, 'h-a');
    assert.ok(first.nextCursor !== null);
    // A cursor only continues the ordering it came from.
    const other = await admin.call('GET', `/api/v1/hosts?sort=platform&limit=5&cursor=${encodeURIComponent(first.nextCursor)}`);
    assert.equal(other.status, 400, other.text);
    assert.equal(errorOf(other).code, 'bad_request');
  });

  void it('should filter by text, status, platform, versions, group, label and duplicates, and count the same way', async (t) => {
    const now = Date.now();
    // A frozen clock: the status cases sit seconds away from the online window's edge.
    const srv = await startServer(t, { overrides: { now: () => now } });
    const admin = await apiUser(srv, 'admin');
    const reader = await apiUser(srv, 'readonly');
    const other = await api<{ id: number }>(admin, 'POST', '/api/v1/groups', { name: 'servers' }, 201);
    const web = await seedHost(srv, {
      hostname: 'web-01', computer_name: 'Web Server', hardware_uuid: 'AAAA-1111', identifier: 'ident-web', hardware_serial: 'SN-WEB',
      primary_ip: '10.0.0.5', os_name: 'Ubuntu', os_version: '22.04', agent_version: '1.2.0', seenAt: now - 10_000,
    });
    const db = await seedHost(srv, {
      hostname: 'db_01', platform: 'darwin', os_name: 'macOS', os_version: '14.3', osquery_version: '5.10.2', duplicate_identifier: 1,
      enrolled_at: now - 3_600_000, seenAt: now - 3_600_000,
    });
    const dbx = await seedHost(srv, { hostname: 'dbx01', seenAt: now - 3_600_000 });
    const win = await seedHost(srv, { hostname: 'win%box', platform: 'windows', group_id: other.id, enrolled_at: now - 10 * 86_400_000 });
    // Seen by the cache only: the batched last-seen write has not happened yet.
    const flushed = await seedHost(srv, { hostname: 'cached-a', seenAt: now - 3_600_000 });
    // Stored just past the window, but the cache saw it since (below the write granularity): online.
    const band = await seedHost(srv, { hostname: 'cached-b', seenAt: now - WINDOW_MS - 5_000 });
    const cache = srv.app.services.cache;
    const rowA = await srv.app.store.hosts.findAuthById(flushed);
    const rowB = await srv.app.store.hosts.findAuthById(band);
    assert.ok(rowA && rowB);
    cache.touch(cache.admit(rowA, 'key-hash-a'), now);
    cache.touch(cache.admit(rowB, 'key-hash-b', now - WINDOW_MS - 5_000), now - WINDOW_MS + 5_000);

    const cases: Array<[string, number[]]> = [
      ['q=WEB', [web]],
      ['q=aaaa-1111', [web]],
      ['q=ident-web', [web]],
      ['q=sn-web', [web]],
      ['q=10.0.0.5', [web]],
      ['q=web%20server', [web]],
      ['q=db_', [db]], // "_" is literal, not a wildcard (dbx01 stays out)
      ['q=%25', [win]], // "%" is literal
      ['status=online', [web, flushed, band]],
      ['status=offline', [db, dbx, win]],
      ['status=new', [db]],
      ['platform=darwin', [db]],
      ['platform=windows', [win]],
      ['osName=Ubuntu', [web]],
      ['osVersion=14.3', [db]],
      ['osqueryVersion=5.10.2', [db]],
      ['agentVersion=1.2.0', [web]],
      [`groupId=${other.id}`, [win]],
      ['duplicateIdentifier=true', [db]],
      ['duplicateIdentifier=false', [web, dbx, win, flushed, band]],
      ['platform=linux&status=offline', [dbx]],
    ];
    for (const [query, want] of cases) {
      const sorted = [...want].sort((a, b) => a - b);
      assert.deepEqual(await listIds(reader, query), sorted, query);
      assert.equal(await countOf(reader, query), want.length, `count ${query}`);
    }
    assert.equal(await countOf(reader, ''), 6);

    // Labels: a manual label, and the built-in macOS label (membership from the platform).
    const manual = await api<{ label: { id: number } }>(admin, 'POST', '/api/v1/labels', { name: 'pets', type: 'manual', hostIds: [web, win] }, 201);
    assert.deepEqual(await listIds(reader, `labelId=${manual.label.id}`), [web, win].sort((a, b) => a - b));
    const builtins = await api<{ items: Array<{ id: number; name: string }> }>(reader, 'GET', '/api/v1/labels?type=builtin', undefined, 200);
    const mac = builtins.items.find((l) => l.name === 'macOS');
    assert.ok(mac);
    assert.deepEqual(await listIds(reader, `labelId=${mac.id}`), [db]);
    assert.equal(await countOf(reader, `labelId=${mac.id}`), 1);

    // Status shown per host agrees with the filter, using the in-memory last-seen time.
    const page = await api<HostList>(reader, 'GET', '/api/v1/hosts?sort=hostname&limit=100', undefined, 200);
    const byId = new Map(page.items.map((h) => [h.id, h]));
    assert.equal(byId.get(flushed)?.status, 'online');
    assert.equal(byId.get(band)?.status, 'online');
    assert.equal(byId.get(dbx)?.status, 'offline');
    assert.equal(byId.get(win)?.lastSeenAt, null);
    assert.equal(byId.get(db)?.isNew, true);
    assert.equal(byId.get(win)?.group.name, 'servers');

    // Unknown group or label in a filter: 422 naming the field.
    for (const q of ['groupId=999999', 'labelId=999999']) {
      const r = await reader.call('GET', `/api/v1/hosts?${q}`);
      assert.equal(r.status, 422, q);
      const e = errorOf(r);
      assert.equal(e.code, 'validation_failed');
      assert.match(JSON.stringify(e.details), new RegExp(q.split('=')[0] ?? ''));
      assert.equal((await reader.call('GET', `/api/v1/hosts/count?${q}`)).status, 422);
    }
  });

  void it('should judge online status by the distributed interval each group is served', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const now = Date.now();
    // Fleet users find "offline" confusing when a team polls slowly (fleet.md §4 item 21).
    const slow = await api<{ id: number }>(admin, 'POST', '/api/v1/groups', { name: 'slow', options: { distributed_interval: '300' } }, 201);
    const inSlow = await seedHost(srv, { group_id: slow.id, seenAt: now - 200_000 });
    const inDefault = await seedHost(srv, { seenAt: now - 200_000 });
    const staleSlow = await seedHost(srv, { group_id: slow.id, seenAt: now - 400_000 });
    assert.deepEqual(await listIds(admin, 'status=online'), [inSlow]);
    assert.deepEqual(await listIds(admin, 'status=offline'), [inDefault, staleSlow]);
    const page = await api<HostList>(admin, 'GET', '/api/v1/hosts', undefined, 200);
    assert.deepEqual(page.items.map((h) => [h.id, h.status]).sort(), [[inSlow, 'online'], [inDefault, 'offline'], [staleSlow, 'offline']].sort());
    const s = await api<HostSummary>(admin, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.equal(s.online, 1);
    // Back to the default interval: the window follows at once.
    await api(admin, 'PATCH', `/api/v1/groups/${slow.id}`, { options: {} }, 200);
    assert.deepEqual(await listIds(admin, 'status=online'), []);
  });

  void it('should summarise hosts by status, platform and osquery version from a short-lived cache', async (t) => {
    const now = Date.now();
    let clock = now;
    const srv = await startServer(t, { overrides: { now: () => clock } });
    const reader = await apiUser(srv, 'readonly');
    const admin = await apiUser(srv, 'admin');
    await seedHost(srv, { platform: 'linux', osquery_version: '5.23.1', seenAt: now });
    await seedHost(srv, { platform: 'linux', osquery_version: '5.23.1', seenAt: now - 3_600_000 });
    await seedHost(srv, { platform: 'darwin', osquery_version: '5.10.2', seenAt: now, enrolled_at: now - 1000 });
    const s = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.equal(s.total, 3);
    assert.equal(s.online, 2);
    assert.equal(s.offline, 1);
    assert.equal(s.new, 1);
    assert.deepEqual(s.byPlatform, [
      { platform: 'darwin', total: 1, online: 1, offline: 0, new: 1 },
      { platform: 'linux', total: 2, online: 1, offline: 1, new: 0 },
    ]);
    assert.deepEqual(s.byOsqueryVersion, [{ version: '5.23.1', count: 2 }, { version: '5.10.2', count: 1 }]);
    assert.ok(s.maxAgeSeconds > 0);
    // Within the TTL the same numbers come back without recounting, even after a new host.
    await seedHost(srv, { platform: 'windows' });
    const again = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.equal(again.generatedAt, s.generatedAt);
    assert.equal(again.total, 3);
    clock += s.maxAgeSeconds * 1000;
    const later = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.equal(later.total, 4, 'recounted once the TTL passed');
    assert.notEqual(later.generatedAt, s.generatedAt);
    // Per group, and a change made through the API (a delete) is reflected at once.
    const g = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary?groupId=1', undefined, 200);
    assert.equal(g.total, 4);
    const victim = (await api<HostList>(reader, 'GET', '/api/v1/hosts?platform=windows', undefined, 200)).items[0];
    assert.ok(victim);
    await api(admin, 'DELETE', `/api/v1/hosts/${victim.id}`, undefined, 200);
    const afterDelete = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.equal(afterDelete.total, 3);
    assert.equal(afterDelete.online, 2);
    clock += WINDOW_MS;
    const quiet = await api<HostSummary>(reader, 'GET', '/api/v1/hosts/summary', undefined, 200);
    assert.deepEqual([quiet.online, quiet.offline], [0, 3], 'status follows the clock, not writes');
    assert.equal((await reader.call('GET', '/api/v1/hosts/summary?groupId=999999')).status, 422);
  });

  void it('should export CSV with the list filters, RFC 4180 quoting and a formula-injection guard', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    await seedHost(srv, { hostname: '=HYPERLINK("http://evil")', computer_name: '+SUM(1,2)', platform: 'windows', hardware_serial: '@cmd', primary_ip: '-1+1' });
    await seedHost(srv, { hostname: 'plain, "quoted"\nname', platform: 'windows' });
    await seedHost(srv, { hostname: 'not-exported', platform: 'linux' });
    const r = await rawRequest(srv, '/api/v1/hosts.csv?platform=windows&sort=hostname', { method: 'GET', headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(r.status, 200, r.text);
    assert.match(String(r.headers['content-type']), /^text\/csv/);
    assert.match(String(r.headers['content-disposition']), /attachment; filename="hosts-\d{4}-\d{2}-\d{2}\.csv"/);
    const lines = r.text.split('\r\n');
    assert.equal(lines[lines.length - 1], '', 'CRLF after every record');
    const header = (lines[0] ?? '').split(',');
    assert.equal(header[0], 'id');
    assert.ok(header.includes('osquery_version') && header.includes('status') && header.includes('last_seen'));
    assert.ok(!r.text.includes('not-exported'));
    // The formula cells are neutralised (and quoted where they contain quotes or commas).
    assert.ok(r.text.includes(`"'=HYPERLINK(""http://evil"")"`), r.text);
    assert.ok(r.text.includes(`"'+SUM(1,2)"`), r.text);
    assert.ok(r.text.includes(',"\'@cmd",'), r.text);
    assert.ok(r.text.includes(',"\'-1+1",'), r.text);
    // Quotes doubled, the embedded newline kept inside one quoted field.
    assert.ok(r.text.includes('"plain, ""quoted""\nname"'), r.text);
    // Two hosts + header + trailing empty string (the newline inside a field is LF, not CRLF).
    assert.equal(lines.length, 4);
    // Bad filters fail before streaming, as JSON.
    const bad = await rawRequest(srv, '/api/v1/hosts.csv?labelId=424242', { method: 'GET', headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(bad.status, 422);
    assert.equal(errorOf(bad).code, 'validation_failed');
    const entries = await srv.app.store.audit.list({ limit: 10, action: 'host.export' });
    assert.equal(entries.length, 1, 'exports are audited');
  });

  void it('should show host details: vitals, labels, packs with stats, denylisted queries, errors, users, software', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const admin = await apiUser(srv, 'admin');
    const os = standin(srv, makeHostProfile('ubuntu', 41));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const id = await hostIdOf(srv, os);
    const run = await os.runDistributedOnce();
    assert.equal(run.write?.ok, true, JSON.stringify(run.write));

    // A pack deployed to the default group, with scheduled-query stats reported by the host.
    // Through the store, so the test runs on SQLite and PostgreSQL alike.
    const now = Date.now();
    const packId = await srv.app.store.packs.insert({ name: 'it-pack', created_at: now, updated_at: now, global: 1 });
    await srv.app.store.packs.replaceQueries(packId, [
      // Same keys in every row: a multi-row INSERT on SQLite turns a missing key into NULL, not the default.
      { name: 'procs', sql: 'SELECT * FROM processes', interval: 60, platform: '' },
      { name: 'win_only', sql: 'SELECT 1', interval: 60, platform: 'windows' },
    ]);
    const stat = { pack: 'it-pack', query: 'procs', executions: 5, last_executed: 1_700_000_000, denylisted: 1, wall_time_ms: 12, user_time: 3, system_time: 1, average_memory: 2048, output_size: 100, updated_at: Date.now() };
    await srv.app.store.scheduleStats.replace(id, [
      { name: 'pack/it-pack/procs', ...stat },
      { name: 'pack/old/gone', ...stat, pack: 'old', query: 'gone', denylisted: 0 },
    ]);
    await srv.app.store.logs.insertStatuses([0, 1, 2].map((severity, i) => ({
      host_id: id, unix_time: 1_700_000_000 + i, severity, message: `line ${i}`, received_at: Date.now(), dedup: `d${i}`,
    })));
    const label = await api<{ label: { id: number } }>(admin, 'POST', '/api/v1/labels', { name: 'mine', type: 'manual', hostIds: [id] }, 201);

    const d = await api<HostDetail>(reader, 'GET', `/api/v1/hosts/${id}`, undefined, 200);
    assert.equal(d.id, id);
    assert.equal(d.hostname, os.profile.hostname);
    assert.equal(d.platform, 'linux');
    assert.equal(d.status, 'online');
    assert.ok(d.lastSeenAt !== null);
    assert.ok(d.detailUpdatedAt !== null);
    assert.equal(d.group.name, 'default');
    assert.ok(d.vitals.some((v) => v.name === 'system_info' && typeof v.data === 'object'), JSON.stringify(d.vitals.map((v) => v.name)));
    assert.deepEqual(d.labels.map((l) => l.name).sort(), ['All hosts', 'Linux', 'mine']);
    assert.ok(d.labels.some((l) => l.id === label.label.id && l.type === 'manual'));
    const pack = d.packs.find((p) => p.name === 'it-pack');
    assert.ok(pack, JSON.stringify(d.packs));
    assert.deepEqual(pack.queries.map((q) => q.name), ['procs'], 'queries for other platforms are not shown');
    const stats = pack.queries[0]?.stats;
    assert.ok(stats);
    assert.equal(stats.executions, 5);
    assert.equal(stats.denylisted, true);
    assert.equal(stats.lastExecutedAt, new Date(1_700_000_000_000).toISOString());
    assert.deepEqual(d.denylistedQueries.map((q) => q.name), ['pack/it-pack/procs']);
    assert.deepEqual(d.otherScheduledQueries.map((q) => q.name), ['pack/old/gone']);
    assert.deepEqual(d.recentErrors.map((e) => [e.severity, e.message]), [[2, 'line 2'], [1, 'line 1']], 'severity ≥ 1, newest first');
    assert.ok(d.users.length > 0, 'users from the vitals');
    assert.ok(d.softwareCount >= 0);
  });

  void it('should page a host\'s software and filter it by name', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const id = await seedHost(srv);
    const names = ['zsh', 'bash', 'curl', 'openssl', 'python3', 'vim', 'git'];
    await srv.app.store.hosts.replaceSoftware(id, names.map((name) => ({ name, version: '1.0', source: 'deb_packages', vendor: '', arch: 'amd64' })));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/api/v1/hosts/${id}/software?limit=3${cursor !== null ? `&cursor=${cursor}` : ''}`;
      const page: { items: Array<{ name: string }>; nextCursor: string | null } = await api(reader, 'GET', path, undefined, 200);
      seen.push(...page.items.map((s) => s.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(seen, [...names].sort());
    const filtered = await api<{ items: Array<{ name: string }> }>(reader, 'GET', `/api/v1/hosts/${id}/software?q=SS`, undefined, 200);
    assert.deepEqual(filtered.items.map((s) => s.name), ['openssl']);
    assert.equal((await api<HostDetail>(reader, 'GET', `/api/v1/hosts/${id}`, undefined, 200)).softwareCount, 7);
    assert.equal((await reader.call('GET', '/api/v1/hosts/999999/software')).status, 404);
    assert.equal((await reader.call('GET', `/api/v1/hosts/${id}/software?cursor=bad`)).status, 400);
  });

  void it('should refetch vitals on the next check-in, end to end with the stand-in', async (t) => {
    const srv = await startServer(t);
    const operator = await apiUser(srv, 'operator');
    const os = standin(srv, makeHostProfile('macos', 42));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const id = await hostIdOf(srv, os);
    const first = await os.runDistributedOnce();
    assert.ok(first.executed.some((q) => q.startsWith('mimir_detail_')));
    assert.deepEqual((await os.runDistributedOnce()).executed, [], 'nothing due right after a full report');

    const h = await api<Host>(operator, 'POST', `/api/v1/hosts/${id}/refetch`, undefined, 200);
    assert.equal(h.refetchRequested, true);
    assert.equal((await srv.app.store.hosts.findById(id))?.refetch_requested, 1);
    const run = await os.runDistributedOnce();
    assert.ok(run.executed.some((q) => q.startsWith('mimir_detail_')), run.executed.join(','));
    assert.equal(run.write?.ok, true);
    const after = await api<Host>(operator, 'GET', `/api/v1/hosts/${id}`, undefined, 200);
    assert.equal(after.refetchRequested, false, 'the answer clears the request');
    assert.deepEqual((await os.runDistributedOnce()).executed, []);
    const audit = await srv.app.store.audit.list({ limit: 5, action: 'host.refetch' });
    assert.equal(audit[0]?.target_id, String(id));

    // Refetch of a host that is not in the cache (offline since the last restart) is kept for later.
    const offline = await seedHost(srv);
    await api(operator, 'POST', `/api/v1/hosts/${offline}/refetch`, undefined, 200);
    const row = await srv.app.store.hosts.findAuthById(offline);
    assert.equal(row?.refetch_requested, 1);
  });

  void it('should delete a host, evict it from the cache, and let a still-running osquery re-enroll as a new host', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const reader = await apiUser(srv, 'readonly');
    const os = standin(srv, makeHostProfile('rhel', 43));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const id = await hostIdOf(srv, os);
    // A check-in leaves a last-seen time waiting for the batched write.
    srv.app.services.cache.touch(srv.app.services.cache.getById(id) ?? assert.fail('cached'), Date.now() + 60_000);

    const denied = await reader.call('DELETE', `/api/v1/hosts/${id}`);
    assert.equal(denied.status, 403);
    assert.ok(await srv.app.store.hosts.findById(id), 'nothing deleted');

    await api(admin, 'DELETE', `/api/v1/hosts/${id}`, undefined, 200);
    assert.equal(srv.app.services.cache.getById(id), undefined);
    assert.equal(await srv.app.store.hosts.findById(id), undefined);
    assert.equal((await reader.call('GET', `/api/v1/hosts/${id}`)).status, 404);
    assert.equal(await srv.app.services.cache.flushSeen(), 0, 'no last-seen write left for the deleted host');
    const audit = await srv.app.store.audit.list({ limit: 5, action: 'host.delete' });
    const entry = audit[0];
    assert.ok(entry);
    assert.equal(entry.target_id, String(id));
    assert.match(entry.details, /identifier/);

    const cfg = await os.config();
    assert.equal(cfg.ok, true, JSON.stringify(cfg));
    assert.equal(cfg.attempts, 2, 'node_invalid, re-enroll, then success');
    assert.notEqual(await hostIdOf(srv, os), id);
    assert.equal((await admin.call('DELETE', `/api/v1/hosts/${id}`)).status, 404);
  });

  void it('should refuse bad input on every host route with 400/404/422 and change nothing', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const id = await seedHost(srv);
    const before = await srv.app.store.hosts.findById(id);
    const cases: Array<[string, string, number, string?]> = [
      ['GET', '/api/v1/hosts/999999', 404],
      ['GET', '/api/v1/hosts/abc', 400, '/id'],
      ['GET', '/api/v1/hosts/0', 400, '/id'],
      ['GET', '/api/v1/hosts?sort=bogus', 400, '/sort'],
      ['GET', '/api/v1/hosts?order=up', 400, '/order'],
      ['GET', '/api/v1/hosts?limit=0', 400, '/limit'],
      ['GET', '/api/v1/hosts?limit=5000', 400, '/limit'],
      ['GET', '/api/v1/hosts?status=sleeping', 400, '/status'],
      ['GET', '/api/v1/hosts?platform=beos', 400, '/platform'],
      ['GET', '/api/v1/hosts?groupId=x', 400, '/groupId'],
      ['GET', '/api/v1/hosts?cursor=not-a-cursor', 400, '/cursor'],
      ['GET', `/api/v1/hosts?q=${'x'.repeat(201)}`, 400, '/q'],
      ['GET', '/api/v1/hosts/count?status=sleeping', 400, '/status'],
      ['GET', '/api/v1/hosts.csv?sort=bogus', 400, '/sort'],
      ['GET', '/api/v1/hosts/summary?groupId=0', 400, '/groupId'],
      ['GET', '/api/v1/hosts/999999/software', 404],
      ['POST', '/api/v1/hosts/999999/refetch', 404],
      ['DELETE', '/api/v1/hosts/999999', 404],
      ['GET', '/api/v1/targets/search', 400, '/'],
      ['POST', '/api/v1/targets/count', 400, '/'],
    ];
    for (const [method, path, status, field] of cases) {
      const r = await admin.call(method, path, method === 'POST' && path.endsWith('/count') ? { platforms: ['beos'] } : undefined);
      assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
      const e = errorOf(r);
      if (status === 404) assert.equal(e.code, 'not_found');
      if (field !== undefined) {
        assert.equal(e.code, status === 400 ? (path.includes('cursor') ? 'bad_request' : 'validation_failed') : 'validation_failed', path);
        assert.ok(JSON.stringify(e.details ?? '').includes(field), `${path}: ${JSON.stringify(e.details)}`);
      }
    }
    assert.deepEqual(await srv.app.store.hosts.findById(id), before, 'nothing changed');
    assert.equal((await srv.app.store.audit.list({ limit: 50 })).filter((a) => a.action.startsWith('host.')).length, 0);
  });
});

