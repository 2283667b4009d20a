/**
 * Target resolution (services/contracts.ts TargetResolver on core.hub.targets) and the target picker
 * (seed 004: suggestions by name, ID, platform and policy).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group, Label, TargetSearchResult } from '@mimir/api-contract';
import { api, apiUser, startServer } from '../../../test/helper.js';
import { seedHost } from './hosts-test-utils.js';

void describe('targets', () => {
  void it('should resolve all/hosts/labels/groups/platforms as a union: ascending, deduplicated, existing hosts only', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const targets = srv.app.core.hub.targets;
    assert.ok(targets, 'published on core.hub');
    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'dmz' }, 201);
    const lin = await seedHost(srv, { platform: 'linux', seenAt: Date.now() });
    const mac = await seedHost(srv, { platform: 'darwin' });
    const win = await seedHost(srv, { platform: 'windows', group_id: g.id });
    const bsd = await seedHost(srv, { platform: 'freebsd' });
    const manual = await api<{ label: Label }>(admin, 'POST', '/api/v1/labels', { name: 'picked', type: 'manual', hostIds: [bsd, lin] }, 201);
    const builtins = (await api<{ items: Label[] }>(admin, 'GET', '/api/v1/labels?type=builtin', undefined, 200)).items;
    const labelId = (name: string) => builtins.find((l) => l.name === name)?.id ?? assert.fail(name);

    assert.deepEqual(await targets.resolve({}), []);
    assert.deepEqual(await targets.resolve({ all: true }), [lin, mac, win, bsd]);
    assert.deepEqual(await targets.resolve({ hostIds: [win, 999_999, lin, win] }), [lin, win]);
    assert.deepEqual(await targets.resolve({ groupIds: [g.id, 424_242] }), [win]);
    assert.deepEqual(await targets.resolve({ platforms: ['darwin', 'freebsd'] }), [mac, bsd]);
    assert.deepEqual(await targets.resolve({ labelIds: [manual.label.id] }), [lin, bsd]);
    assert.deepEqual(await targets.resolve({ labelIds: [labelId('macOS'), 31_337] }), [mac]);
    assert.deepEqual(await targets.resolve({ labelIds: [labelId('All hosts')] }), [lin, mac, win, bsd]);
    assert.deepEqual(await targets.resolve({ hostIds: [mac], groupIds: [g.id], labelIds: [manual.label.id] }), [lin, mac, win, bsd]);
    assert.deepEqual(await targets.resolve({ hostIds: [mac], platforms: ['darwin'] }), [mac], 'matching twice counts once');

    const count = await api<{ total: number; online: number; offline: number }>(admin, 'POST', '/api/v1/targets/count', { platforms: ['linux', 'darwin'] }, 200);
    assert.deepEqual(count, { total: 2, online: 1, offline: 1 });
    assert.deepEqual(await api(admin, 'POST', '/api/v1/targets/count', { hostIds: [999_999] }, 200), { total: 0, online: 0, offline: 0 });
  });

  void it('should suggest hosts, groups, labels and platforms as the operator types', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const admin = await apiUser(srv, 'admin');
    await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'Web farm' }, 201);
    const web = await seedHost(srv, { hostname: 'web-01.example.com', identifier: 'UUID-WEB', seenAt: Date.now() });
    const other = await seedHost(srv, { hostname: 'mail', hardware_serial: 'C02WEBXYZ', platform: 'darwin' });
    await seedHost(srv, { hostname: 'db' });
    await api(admin, 'POST', '/api/v1/labels', { name: 'webservers', type: 'manual', hostIds: [web] }, 201);

    const r = await api<TargetSearchResult>(reader, 'GET', '/api/v1/targets/search?q=web', undefined, 200);
    assert.deepEqual(r.hosts.map((h) => h.id).sort((a, b) => a - b), [web, other].sort((a, b) => a - b));
    assert.equal(r.hosts.find((h) => h.id === web)?.status, 'online');
    assert.deepEqual(r.groups.map((g) => g.name), ['Web farm']);
    assert.deepEqual(r.labels.map((l) => [l.name, l.type, l.hostCount]), [['webservers', 'manual', 1]]);
    assert.deepEqual(r.platforms, []);

    const mac = await api<TargetSearchResult>(reader, 'GET', '/api/v1/targets/search?q=mac', undefined, 200);
    assert.deepEqual(mac.platforms, [{ platform: 'darwin', hostCount: 1 }]);
    assert.deepEqual(mac.labels.map((l) => l.name), ['macOS']);
    const byId = await api<TargetSearchResult>(reader, 'GET', `/api/v1/targets/search?q=${other}`, undefined, 200);
    assert.ok(byId.hosts.some((h) => h.id === other), 'by host id');
    const limited = await api<TargetSearchResult>(reader, 'GET', '/api/v1/targets/search?q=&limit=1', undefined, 200);
    assert.ok(limited.groups.length <= 1 && limited.labels.length <= 1 && limited.hosts.length === 0);
    assert.equal((await reader.call('GET', '/api/v1/targets/search?q=x&limit=500')).status, 400);
  });
});
