/**
 * Groups and enroll secrets (issue #4 "Labels and groups"; Fleet teams, Elastic agent policies):
 * CRUD with per-group osquery options, secrets (admin only), rotation and revocation, enrolling
 * into a group, moving hosts, delete rules, and the flagfile/CA downloads driving a stand-in.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { EnrollSecret, Group, HostDetail } from '@mimir/api-contract';
import { OsquerydStandin, flagsToStandinOptions, makeHostProfile, parseFlagfile } from '@mimir/osquery-protocol/standin';
import { api, apiUser, post, rawRequest, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';
import { errorOf, hostIdOf, seedHost, standin } from './hosts-test-utils.js';

async function enrollWith(srv: TestServer, secret: string, identifier: string) {
  return post(srv, '/api/v1/osquery/enroll', {
    enroll_secret: secret,
    host_identifier: identifier,
    host_details: { osquery_info: { version: '5.23.1', instance_id: `inst-${identifier}` }, system_info: { hostname: identifier } },
  });
}

async function secretsOf(admin: ApiCaller, groupId: number): Promise<EnrollSecret[]> {
  return (await api<{ items: EnrollSecret[] }>(admin, 'GET', `/api/v1/groups/${groupId}/secrets`, undefined, 200)).items;
}

void describe('groups API', () => {
  void it('should create, list, update and validate groups and serve their osquery options', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const reader = await apiUser(srv, 'readonly');
    const operator = await apiUser(srv, 'operator');

    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: '  servers ', description: 'prod', options: { distributed_interval: 30, logger_tls_period: '20' } }, 201);
    assert.equal(g.name, 'servers', 'names are trimmed');
    assert.deepEqual(g.options, { distributed_interval: 30, logger_tls_period: '20' });
    assert.equal(g.activeSecrets, 1, 'a first secret comes with the group');
    assert.equal(g.isDefault, false);
    const dup = await admin.call('POST', '/api/v1/groups', { name: 'servers' });
    assert.equal(dup.status, 409);
    assert.equal(errorOf(dup).code, 'conflict');

    const list = await api<{ items: Group[] }>(reader, 'GET', '/api/v1/groups', undefined, 200);
    assert.deepEqual(list.items.map((x) => [x.name, x.isDefault]), [['default', true], ['servers', false]]);
    assert.equal((await reader.call('POST', '/api/v1/groups', { name: 'x' })).status, 403);
    assert.equal((await operator.call('PATCH', `/api/v1/groups/${g.id}`, { name: 'x' })).status, 403);

    // A host enrolled with the group's secret gets the group's options in its config.
    const [secret] = await secretsOf(admin, g.id);
    assert.ok(secret);
    const os = standin(srv, makeHostProfile('ubuntu', 61), { enrollSecret: secret.secret });
    t.after(() => os.close());
    const cfg = await os.config();
    assert.ok(cfg.ok, JSON.stringify(cfg));
    assert.equal((cfg.body['options'] as Record<string, unknown>)['distributed_interval'], 30);
    const hostId = await hostIdOf(srv, os);
    assert.equal((await api<HostDetail>(reader, 'GET', `/api/v1/hosts/${hostId}`, undefined, 200)).group.id, g.id);

    // Changing options reaches the host on its next poll (configs are invalidated).
    const updated = await api<Group>(admin, 'PATCH', `/api/v1/groups/${g.id}`, { options: { distributed_interval: 45 }, description: 'changed' }, 200);
    assert.deepEqual(updated.options, { distributed_interval: 45 });
    assert.equal(updated.hostCount, 1);
    const cfg2 = await os.config();
    assert.ok(cfg2.ok);
    assert.equal((cfg2.body['options'] as Record<string, unknown>)['distributed_interval'], 45);
    const audit = await srv.app.store.audit.list({ limit: 5, action: 'group.update' });
    assert.match(audit[0]?.details ?? '', /options/);

    // Invalid options: every problem named, nothing stored.
    const bad = await admin.call('PATCH', `/api/v1/groups/${g.id}`, { options: { tls_hostname: 'x', 'Bad-Key': 1, logger_tls_period: 1.5, enroll_secret_path: '/x' } });
    assert.equal(bad.status, 422, bad.text);
    const paths = (errorOf(bad).details as Array<{ path: string }>).map((d) => d.path).sort();
    assert.deepEqual(paths, ['/options/Bad-Key', '/options/enroll_secret_path', '/options/logger_tls_period', '/options/tls_hostname']);
    // A value that is no option type at all is refused by the body schema (400), naming it.
    const nested = await admin.call('PATCH', `/api/v1/groups/${g.id}`, { options: { nested: { a: 1 } } });
    assert.equal(nested.status, 400, nested.text);
    assert.deepEqual((errorOf(nested).details as Array<{ path: string }>)[0]?.path, '/options/nested');
    assert.deepEqual((await api<Group>(reader, 'GET', `/api/v1/groups/${g.id}`, undefined, 200)).options, { distributed_interval: 45 });
    assert.equal((await admin.call('POST', '/api/v1/groups', { name: 'x', options: { config_refresh: 5 } })).status, 422);
    assert.equal((await admin.call('POST', '/api/v1/groups', { name: '   ' })).status, 400);
    assert.equal((await admin.call('POST', '/api/v1/groups', { name: 'a'.repeat(101) })).status, 400);
    assert.equal((await admin.call('PATCH', `/api/v1/groups/${g.id}`, { name: 'default' })).status, 409);

    // The default group keeps its name (the server finds it by name at start).
    const def = list.items.find((x) => x.isDefault);
    assert.ok(def);
    const rename = await admin.call('PATCH', `/api/v1/groups/${def.id}`, { name: 'renamed' });
    assert.equal(rename.status, 409);
    assert.equal(errorOf(rename).code, 'group_protected');
    assert.equal((await admin.call('GET', '/api/v1/groups/999999')).status, 404);
    for (const [method, path] of [['GET', '/api/v1/groups/abc'], ['GET', '/api/v1/groups/1/secrets/x'], ['DELETE', '/api/v1/groups/1/secrets/abc'], ['GET', '/api/v1/groups/0/flagfile']] as const) {
      const r = await admin.call(method, path);
      assert.ok(r.status === 400 || r.status === 404, `${method} ${path}: ${r.status}`);
      errorOf(r);
    }
    assert.equal((await admin.call('PATCH', `/api/v1/groups/${g.id}`, { description: 'x'.repeat(1001) })).status, 400);
    assert.equal((await admin.call('PATCH', `/api/v1/groups/${g.id}`, { options: 'distributed_interval=5' })).status, 400);
    assert.equal((await admin.call('PATCH', '/api/v1/groups/999999', { name: 'y' })).status, 404);
    assert.equal((await srv.app.store.groups.list()).length, 2, 'no stray group created');
  });

  void it('should keep secrets admin-only, enroll into the secret\'s group, rotate and revoke', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const reader = await apiUser(srv, 'readonly');
    const operator = await apiUser(srv, 'operator');
    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'laptops', createSecret: false }, 201);
    assert.equal(g.activeSecrets, 0);

    for (const caller of [reader, operator]) {
      assert.equal((await caller.call('GET', `/api/v1/groups/${g.id}/secrets`)).status, 403);
      assert.equal((await caller.call('POST', `/api/v1/groups/${g.id}/secrets`, {})).status, 403);
      assert.equal((await caller.call('GET', `/api/v1/groups/${g.id}/flagfile`)).status, 403);
      const seen = await caller.call('GET', '/api/v1/groups');
      assert.equal(seen.status, 200);
      assert.ok(!seen.text.includes(srv.secret), 'group lists never carry secret values');
    }

    const short = await admin.call('POST', `/api/v1/groups/${g.id}/secrets`, { secret: 'too-short' });
    assert.equal(short.status, 400);
    assert.match(JSON.stringify(errorOf(short).details), /secret/);
    assert.equal((await admin.call('POST', `/api/v1/groups/${g.id}/secrets`, { secret: 'has spaces in it, sixteen+' })).status, 400);
    const taken = await admin.call('POST', `/api/v1/groups/${g.id}/secrets`, { secret: srv.secret });
    assert.equal(taken.status, 409, 'a value that already enrolls elsewhere');
    assert.equal((await secretsOf(admin, g.id)).length, 0, 'nothing stored');

    const generated = await api<EnrollSecret>(admin, 'POST', `/api/v1/groups/${g.id}/secrets`, { name: 'fleet-2025' }, 201);
    assert.ok(generated.secret.length >= 16);
    assert.equal(generated.active, true);
    const chosen = await api<EnrollSecret>(admin, 'POST', `/api/v1/groups/${g.id}/secrets`, { secret: 'chosen-secret-value-0001' }, 201);

    // Enrolling with the group's secret puts the host in that group.
    const os = standin(srv, makeHostProfile('windows', 62), { enrollSecret: chosen.secret });
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const hostId = await hostIdOf(srv, os);
    assert.equal((await api<HostDetail>(admin, 'GET', `/api/v1/hosts/${hostId}`, undefined, 200)).group.name, 'laptops');

    // Rotation: a new secret, the old ones revoked; enrolled hosts keep working.
    const rotated = await api<{ created: EnrollSecret; revoked: EnrollSecret[] }>(admin, 'POST', `/api/v1/groups/${g.id}/secrets/rotate`, { revokeOld: true }, 200);
    assert.deepEqual(rotated.revoked.map((s) => s.id).sort(), [generated.id, chosen.id].sort());
    assert.ok(rotated.revoked.every((s) => !s.active && s.revokedAt !== null));
    assert.equal((await enrollWith(srv, chosen.secret, 'late-host')).status, 401, 'a revoked secret is refused');
    assert.equal((await enrollWith(srv, rotated.created.secret, 'new-host')).status, 200);
    const cfg = await os.config();
    assert.equal(cfg.ok, true);
    assert.equal(cfg.attempts, 1, 'no re-enroll needed after rotation');
    const listed = await secretsOf(admin, g.id);
    assert.equal(listed[0]?.id, rotated.created.id, 'newest first');
    assert.equal(listed.filter((s) => s.active).length, 1);

    // Rotation without revoking keeps both; then revoke one explicitly.
    const second = await api<{ created: EnrollSecret; revoked: EnrollSecret[] }>(admin, 'POST', `/api/v1/groups/${g.id}/secrets/rotate`, {}, 200);
    assert.deepEqual(second.revoked, []);
    const revoked = await api<EnrollSecret>(admin, 'DELETE', `/api/v1/groups/${g.id}/secrets/${second.created.id}`, undefined, 200);
    assert.equal(revoked.active, false);
    assert.equal((await enrollWith(srv, second.created.secret, 'another')).status, 401);
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}/secrets/999999`)).status, 404);
    const defaultSecret = (await secretsOf(admin, 1))[0];
    assert.ok(defaultSecret);
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}/secrets/${defaultSecret.id}`)).status, 404, 'a secret of another group');


    // The audit trail records secret changes without their values.
    const entries = await srv.app.store.audit.list({ limit: 50 });
    const secretEntries = entries.filter((e) => e.action.startsWith('enroll_secret.'));
    assert.deepEqual([...new Set(secretEntries.map((e) => e.action))].sort(), ['enroll_secret.create', 'enroll_secret.revoke', 'enroll_secret.rotate']);
    for (const e of secretEntries) {
      for (const s of [chosen.secret, generated.secret, rotated.created.secret]) assert.ok(!e.details.includes(s), 'no secret values in the audit log');
    }

    // Revoking the MIMIR_ENROLL_SECRET secret sticks: a restart does not bring it back.
    assert.equal((await enrollWith(srv, srv.secret, 'still-works')).status, 200);
    await api(admin, 'DELETE', `/api/v1/groups/1/secrets/${defaultSecret.id}`, undefined, 200);
    assert.equal((await enrollWith(srv, srv.secret, 'now-refused')).status, 401);
    await srv.stop();
    const again = await startServer(t, { dataDir: srv.dataDir });
    assert.equal((await enrollWith(again, srv.secret, 'after-restart')).status, 401, 'the revocation survives a restart');
    assert.notEqual(again.secret, srv.secret, 'another active secret is printed instead');
  });

  void it('should move hosts between groups and only delete groups whose hosts have somewhere to go', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const operator = await apiUser(srv, 'operator');
    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'canary', options: { distributed_interval: 15 } }, 201);
    const a = await seedHost(srv);
    const b = await seedHost(srv);
    const os = standin(srv, makeHostProfile('ubuntu', 63));
    t.after(() => os.close());
    assert.ok((await os.config()).ok);
    const live = await hostIdOf(srv, os);

    const bad = await operator.call('POST', `/api/v1/groups/${g.id}/hosts`, { hostIds: [a, 999_999] });
    assert.equal(bad.status, 422);
    assert.match(JSON.stringify(errorOf(bad).details), /999999/);
    assert.equal((await srv.app.store.hosts.findById(a))?.group_id, 1, 'nothing moved');
    assert.equal((await operator.call('POST', `/api/v1/groups/${g.id}/hosts`, { hostIds: [] })).status, 400);
    assert.equal((await operator.call('POST', '/api/v1/groups/999999/hosts', { hostIds: [a] })).status, 404);

    const moved = await api<{ moved: number }>(operator, 'POST', `/api/v1/groups/${g.id}/hosts`, { hostIds: [a, b, live, a] }, 200);
    assert.equal(moved.moved, 3);
    assert.equal(srv.app.services.cache.getById(live)?.groupId, g.id, 'the cached host follows at once');
    const cfg = await os.config();
    assert.ok(cfg.ok);
    assert.equal((cfg.body['options'] as Record<string, unknown>)['distributed_interval'], 15, 'the next config is the new group\'s');
    assert.equal((await api<Group>(admin, 'GET', `/api/v1/groups/${g.id}`, undefined, 200)).hostCount, 3);

    // Delete: the default group never; a group with hosts only with somewhere to move them.
    const def = await admin.call('DELETE', '/api/v1/groups/1');
    assert.equal(def.status, 409);
    assert.equal(errorOf(def).code, 'group_protected');
    const notEmpty = await admin.call('DELETE', `/api/v1/groups/${g.id}`);
    assert.equal(notEmpty.status, 409);
    assert.equal(errorOf(notEmpty).code, 'group_not_empty');
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}?moveHostsTo=${g.id}`)).status, 422);
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}?moveHostsTo=999999`)).status, 422);
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}?moveHostsTo=abc`)).status, 400);
    assert.equal((await operator.call('DELETE', `/api/v1/groups/${g.id}?moveHostsTo=1`)).status, 403);
    assert.ok(await srv.app.store.groups.findById(g.id), 'still there');
    const [secret] = await secretsOf(admin, g.id);
    assert.ok(secret);

    const del = await api<{ movedHosts: number }>(admin, 'DELETE', `/api/v1/groups/${g.id}?moveHostsTo=1`, undefined, 200);
    assert.equal(del.movedHosts, 3);
    assert.equal((await srv.app.store.hosts.findById(b))?.group_id, 1);
    assert.equal(srv.app.services.cache.getById(live)?.groupId, 1);
    assert.equal((await enrollWith(srv, secret.secret, 'after-delete')).status, 401, 'the group\'s secrets went with it');
    const cfg2 = await os.config();
    assert.ok(cfg2.ok);
    assert.equal((cfg2.body['options'] as Record<string, unknown>)['distributed_interval'], 10);
    assert.equal((await admin.call('DELETE', `/api/v1/groups/${g.id}`)).status, 404);

    const empty = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'empty' }, 201);
    await api(admin, 'DELETE', `/api/v1/groups/${empty.id}`, undefined, 200);
    const audit = await srv.app.store.audit.list({ limit: 10, action: 'group.delete' });
    assert.equal(audit.length, 2);
  });

  void it('should serve a flagfile and CA that bring a stand-in into the group', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const reader = await apiUser(srv, 'readonly');
    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'kiosks', options: { distributed_interval: 20 } }, 201);
    const ff = await api<{ flagfile: string; enrollSecret: string; secretId: number; tlsHostname: string; caPath: string; secretPath: string }>(
      admin, 'GET', `/api/v1/groups/${g.id}/flagfile`, undefined, 200,
    );
    assert.equal(ff.tlsHostname, srv.tlsHostname, 'the address the console used');
    assert.match(ff.flagfile, /^--tls_hostname=127\.0\.0\.1:\d+$/m);
    assert.match(ff.flagfile, /^--distributed_interval=20$/m, 'the group\'s interval');
    assert.match(ff.flagfile, /^--enroll_secret_path=\/etc\/osquery\/mimir\/enroll_secret$/m);
    assert.equal(ff.enrollSecret, (await secretsOf(admin, g.id))[0]?.secret);

    const ca = await rawRequest(srv, `/api/v1/groups/${g.id}/ca.pem`, { method: 'GET', headers: { authorization: `Bearer ${reader.token}` } });
    assert.equal(ca.status, 200);
    assert.match(String(ca.headers['content-type']), /x-pem-file/);
    assert.equal(ca.text, srv.ca);
    assert.ok(!ca.text.includes('PRIVATE KEY'));

    // Drive a stand-in from exactly these files.
    const files: Record<string, string> = { [ff.caPath]: ca.text, [ff.secretPath]: ff.enrollSecret };
    const resolved = flagsToStandinOptions(parseFlagfile(ff.flagfile).flags, { readFile: (p) => files[p] ?? assert.fail(`unexpected file ${p}`) });
    assert.deepEqual(resolved.warnings, []);
    const os = new OsquerydStandin({ ...resolved.options, profile: makeHostProfile('macos', 64), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const hostId = await hostIdOf(srv, os);
    assert.equal((await srv.app.store.hosts.findById(hostId))?.group_id, g.id);

    // Overrides, the server's own flagfile (public hostname), a chosen secret, and no secret at all.
    const custom = await api<{ flagfile: string }>(admin, 'GET', `/api/v1/groups/${g.id}/flagfile?tlsHostname=mimir.example.com:8443&caPath=C:\\osquery\\ca.pem`, undefined, 200);
    assert.match(custom.flagfile, /^--tls_hostname=mimir\.example\.com:8443$/m);
    assert.match(custom.flagfile, /^--tls_server_certs=C:\\osquery\\ca\.pem$/m);
    mkdirSync(join(srv.dataDir, 'osquery'), { recursive: true });
    writeFileSync(join(srv.dataDir, 'osquery', 'osquery.flags'), '--tls_hostname=fleet.internal:9443\n--carver_block_size=1000000\n');
    const fromServer = await api<{ flagfile: string }>(admin, 'GET', `/api/v1/groups/${g.id}/flagfile`, undefined, 200);
    assert.match(fromServer.flagfile, /^--tls_hostname=fleet\.internal:9443$/m);
    assert.match(fromServer.flagfile, /^--carver_block_size=1000000$/m);
    assert.equal((await admin.call('GET', `/api/v1/groups/${g.id}/flagfile?tlsHostname=https://x/y`)).status, 400);
    assert.equal((await admin.call('GET', `/api/v1/groups/${g.id}/flagfile?secretId=999999`)).status, 422);
    const bare = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'bare', createSecret: false }, 201);
    const none = await admin.call('GET', `/api/v1/groups/${bare.id}/flagfile`);
    assert.equal(none.status, 409);
    assert.match(errorOf(none).message, /no active enroll secret/);
    assert.equal((await admin.call('GET', '/api/v1/groups/999999/flagfile')).status, 404);
    assert.equal((await reader.call('GET', '/api/v1/groups/999999/ca.pem')).status, 404);
  });
});
