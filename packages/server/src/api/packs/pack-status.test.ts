/**
 * Pack status (seed 004 "View status of scheduled packs": last run, result count, hosts, errors),
 * plus what Fleet users could not see (Fleet §4 item 10): queries the osquery watchdog denylisted.
 * Results and status lines travel over HTTPS from osqueryd stand-ins; osquery_schedule figures are
 * written as the vitals ingester writes them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackSaved, PackStatus } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile, resultEventLine } from '@mimir/osquery-protocol/standin';
import type { NewScheduleStat } from '../../storage/repositories/schedule-stats.repository.js';
import { api, apiUser, startServer, type TestServer } from '../../../test/helper.js';

async function hostIdOf(srv: TestServer, s: OsquerydStandin): Promise<number> {
  const h = await srv.app.services.cache.authenticate(await s.getNodeKey());
  assert.ok(h);
  return h.id;
}

function stat(query: string, over: Partial<NewScheduleStat>): NewScheduleStat {
  return {
    name: `pack/ops/${query}`, pack: 'ops', query, executions: 0, last_executed: 0, denylisted: 0, wall_time_ms: 0, user_time: 0,
    system_time: 0, average_memory: 0, output_size: 0, updated_at: Date.now(), ...over,
  };
}

void describe('pack status', () => {
  void it('should show per query the last run, result rows, hosts that ran it, logged errors and watchdog denylisting', async (t) => {
    const srv = await startServer(t);
    const op = await apiUser(srv, 'operator');
    const now = Date.now();
    const groupId = await srv.app.store.groups.create('servers', now);
    await srv.app.store.groups.addSecret(groupId, 'servers-secret-0123456789', 'servers', now);
    srv.app.services.secrets.invalidate();
    const saved = await api<PackSaved>(op, 'POST', '/api/v1/packs', {
      name: 'ops',
      targets: [{ groupId }],
      queries: ['procs', 'procs_all', 'broken', 'heavy', 'idle'].map((name) => ({ name, sql: 'SELECT name, pid FROM processes;', interval: 60 })),
    }, 201);

    const a = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: 'servers-secret-0123456789', profile: makeHostProfile('ubuntu', 21), sleep: () => Promise.resolve() });
    const b = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: 'servers-secret-0123456789', profile: makeHostProfile('macos', 22), sleep: () => Promise.resolve() });
    const other = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', 23), sleep: () => Promise.resolve() });
    t.after(() => Promise.all([a.close(), b.close(), other.close()]));
    for (const s of [a, b, other]) assert.ok((await s.config()).ok);
    const [aId, bId] = [await hostIdOf(srv, a), await hostIdOf(srv, b)];
    assert.ok(a.lastConfig?.['packs'] !== undefined && 'ops' in (a.lastConfig['packs'] as object));

    const t0 = Math.floor(now / 1000) - 600;
    a.logResult(resultEventLine({ name: 'pack/ops/procs', hostIdentifier: a.hostIdentifier, unixTime: t0, counter: 0 }, { name: 'sshd', pid: '1' }, 'added'));
    a.logResult(resultEventLine({ name: 'pack/ops/procs', hostIdentifier: a.hostIdentifier, unixTime: t0, counter: 0 }, { name: 'cron', pid: '2' }, 'added'));
    b.logResult(resultEventLine({ name: 'pack/ops/procs', hostIdentifier: b.hostIdentifier, unixTime: t0 + 60, counter: 0 }, { name: 'launchd', pid: '1' }, 'added'));
    a.logStatus(2, 'Error executing scheduled query pack/ops/broken: no such table: nope', { filename: 'scheduler.cpp', line: 128 });
    b.logStatus(2, 'Error executing scheduled query pack/ops/broken: no such table: nope', { filename: 'scheduler.cpp', line: 128 });
    b.logStatus(1, 'Scheduled query may have failed: pack/ops/heavy', { filename: 'config.cpp', line: 300 });
    a.logStatus(2, 'Error executing scheduled query pack/ops/procs_all: interrupted', { filename: 'scheduler.cpp', line: 128 });
    a.logStatus(0, 'osquery worker initialized [watcher=1]');
    for (const s of [a, b]) {
      const f = await s.flushLogs();
      assert.equal(f.results?.ok ?? true, true);
      assert.equal(f.statuses?.ok, true);
    }
    await srv.app.store.scheduleStats.replace(aId, [
      stat('procs', { executions: 3, last_executed: (t0 + 5) * 1000, wall_time_ms: 30 }),
      stat('heavy', { executions: 1, last_executed: (t0 - 100) * 1000 }),
      stat('broken', { executions: 4, last_executed: t0 * 1000 }),
      stat('idle', {}),
    ]);
    await srv.app.store.scheduleStats.replace(bId, [
      stat('procs', { executions: 1, last_executed: (t0 + 65) * 1000, wall_time_ms: 10 }),
      stat('heavy', { executions: 2, last_executed: (t0 - 50) * 1000, denylisted: 1 }),
      stat('idle', {}),
    ]);

    const ro = await apiUser(srv, 'readonly');
    const status = await api<PackStatus>(ro, 'GET', `/api/v1/packs/${saved.pack.id}/status`, undefined, 200);
    assert.equal(status.name, 'ops');
    assert.equal(status.targetedHosts, 2, 'hosts of the targeted group only');
    const q = (name: string) => {
      const s = status.queries.find((x) => x.name === name);
      assert.ok(s, name);
      return s;
    };
    const procs = q('procs');
    assert.equal(procs.state, 'ok');
    assert.equal(procs.logName, 'pack/ops/procs');
    assert.equal(procs.resultRows, 3);
    assert.equal(procs.lastResultAt, new Date((t0 + 60) * 1000).toISOString());
    assert.equal(procs.hostsScheduled, 2);
    assert.equal(procs.hostsRan, 2);
    assert.equal(procs.executions, 4);
    assert.equal(procs.lastRunAt, new Date((t0 + 65) * 1000).toISOString());
    assert.equal(procs.averageWallTimeMs, 10);
    assert.equal(procs.errorCount, 0, 'a line about procs_all is not about procs');

    const broken = q('broken');
    assert.equal(broken.state, 'errors');
    assert.equal(broken.errorCount, 2);
    assert.deepEqual(broken.errors.map((e) => [e.kind, e.severity]), [['error', 2], ['error', 2]]);
    assert.deepEqual(new Set(broken.errors.map((e) => e.hostId)), new Set([aId, bId]));
    assert.ok(broken.errors.every((e) => e.hostname !== '' && e.message.includes('no such table: nope')));

    const heavy = q('heavy');
    assert.equal(heavy.state, 'denylisted', 'the watchdog denylisting is shown plainly');
    assert.equal(heavy.denylistedHosts, 1);
    assert.deepEqual(heavy.denylisted.map((h) => h.hostId), [bId]);
    assert.deepEqual(heavy.errors.map((e) => e.kind), ['watchdog']);

    assert.equal(q('procs_all').errorCount, 1);
    const idle = q('idle');
    assert.equal(idle.state, 'not_run');
    assert.equal(idle.hostsScheduled, 2);
    assert.equal(idle.hostsRan, 0);
    assert.equal(idle.lastRunAt, null);
    assert.equal(idle.lastResultAt, null);
    assert.equal(idle.averageWallTimeMs, null);

    // The window is counted back from now on reception time: one hour still covers these lines.
    const later = await api<PackStatus>(ro, 'GET', `/api/v1/packs/${saved.pack.id}/status?errorWindowHours=1`, undefined, 200);
    assert.equal(later.queries.find((x) => x.name === 'broken')?.errorCount, 2);
    assert.equal((await ro.call('GET', `/api/v1/packs/${saved.pack.id}/status?errorWindowHours=0`)).status, 400);
  });
});
