/**
 * The Mimir agent's endpoints (issue #6, docs/agent.md): enroll, check-in (linking to osqueryd's
 * host by hardware UUID, update targets with the rollback mark), install reports; bad input of
 * every kind is refused and changes nothing.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { api, apiUser, enroll, post, startServer, type TestServer } from '../../test/helper.js';
import type { HostDetail } from '@mimir/api-contract';
import { canonicalManifest } from '../services/updates/manifest.js';

const A = '/api/v1/osquery/agent';
const UUID = '4C4C4544-0042-3610-8056-B4C04F4A4E32';

function self(over: Record<string, unknown> = {}) {
  return { hostname: 'web-1', os: 'linux', arch: 'x86_64', agentVersion: '0.1.0', osqueryVersion: '5.11.4', autoUpdate: true, ...over };
}

async function agentEnroll(srv: TestServer, over: Record<string, unknown> = {}) {
  return post(srv, `${A}/enroll`, { enrollSecret: srv.secret, hardwareUuid: UUID.toLowerCase(), ...self(), ...over });
}

async function keyOf(srv: TestServer): Promise<string> {
  const r = await agentEnroll(srv);
  assert.equal(r.status, 200, r.text);
  return (r.json as { agentKey: string }).agentKey;
}

const auth = (key: string) => ({ authorization: `AgentKey ${key}` });

describe('agent endpoints', () => {
  it('should enroll, check in, and link to the osquery host of the same hardware UUID', async (t) => {
    const srv = await startServer(t);
    const key = await keyOf(srv);
    const first = await post(srv, `${A}/checkin`, self(), auth(key));
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { agentId: 1, host: null, osquery: null, agent: null });
    // osqueryd enrolls with --host_identifier=uuid (upper case, as osquery reports it).
    await enroll(srv, UUID, 'inst-1');
    const second = await post(srv, `${A}/checkin`, self(), auth(key));
    const body = second.json as { host: { id: number; osqueryVersion: string } | null };
    assert.ok(body.host !== null);
    assert.equal(body.host.osqueryVersion, '5.23.1');
    const hostId = body.host.id;
    const row = await srv.app.store.agents.findByHardwareUuid(UUID);
    assert.equal(row?.host_id, hostId);
    assert.equal(row.arch, 'amd64', 'arch in update vocabulary');
    assert.equal((await srv.app.store.hosts.findById(hostId))?.agent_version, '0.1.0');
    assert.equal((await srv.app.store.hosts.findById(hostId))?.refetch_requested, 0);
    // A changed osquery version asks osqueryd for fresh details.
    await post(srv, `${A}/checkin`, self({ osqueryVersion: '5.12.1' }), auth(key));
    assert.equal((await srv.app.store.hosts.findById(hostId))?.refetch_requested, 1);
  });

  it('should show the agent on the host page: versions, auto-update, last check-in, install outcomes', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    await enroll(srv, UUID, 'inst-1');
    const hostId = (await srv.app.store.agents.findHostByUuid(UUID))?.id;
    assert.ok(hostId !== undefined);
    assert.equal((await api<HostDetail>(reader, 'GET', `/api/v1/hosts/${hostId}`, undefined, 200)).agent, null, 'no agent yet');
    const key = await keyOf(srv);
    assert.equal((await post(srv, `${A}/checkin`, self({ autoUpdate: false }), auth(key))).status, 200);
    const report = { kind: 'osquery', fromVersion: '5.11.4', toVersion: '5.12.1', outcome: 'rolled_back', message: 'osqueryd exited during the health check' };
    assert.equal((await post(srv, `${A}/report`, report, auth(key))).status, 200);
    const agent = (await api<HostDetail>(reader, 'GET', `/api/v1/hosts/${hostId}`, undefined, 200)).agent;
    assert.ok(agent !== null);
    assert.equal(agent.version, '0.1.0');
    assert.equal(agent.osqueryVersion, '5.11.4');
    assert.equal(agent.autoUpdate, false);
    assert.equal(agent.arch, 'amd64');
    assert.ok(agent.lastCheckInAt !== null && Date.parse(agent.lastCheckInAt) > Date.now() - 60_000);
    assert.deepEqual(agent.recentUpdates.map((u) => [u.kind, u.toVersion, u.outcome, u.message]), [['osquery', '5.12.1', 'rolled_back', report.message]]);
  });

  it('should re-enroll a machine with a fresh key and kill the old one', async (t) => {
    const srv = await startServer(t);
    const old = await keyOf(srv);
    const fresh = await keyOf(srv);
    assert.notEqual(old, fresh);
    const r = await post(srv, `${A}/checkin`, self(), auth(old));
    assert.equal(r.status, 401);
    assert.equal((r.json as { node_invalid?: boolean }).node_invalid, true);
    assert.equal((await post(srv, `${A}/checkin`, self(), auth(fresh))).status, 200);
    assert.equal((await srv.app.store.agents.findByHardwareUuid(UUID))?.id, 1, 'one row per machine');
  });

  it('should refuse bad enrollments and store nothing', async (t) => {
    const srv = await startServer(t);
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ enrollSecret: 'wrong' }, 401],
      [{ enrollSecret: '' }, 401],
      [{ enrollSecret: undefined }, 400],
      [{ hardwareUuid: '' }, 400],
      [{ hardwareUuid: 'x'.repeat(200) }, 400],
      [{ hardwareUuid: 'a\u0000b' }, 400],
      [{ os: 'plan9' }, 400],
      [{ arch: 'mips' }, 400],
      [{ agentVersion: '' }, 400],
      [{ agentVersion: 7 }, 400],
      [{ autoUpdate: 'yes' }, 400],
      [{ hostname: 'h'.repeat(300) }, 400],
    ];
    for (const [over, status] of cases) {
      const r = await agentEnroll(srv, over);
      assert.equal(r.status, status, `${JSON.stringify(over).slice(0, 60)}: ${r.text}`);
      assert.equal(typeof (r.json as { error?: unknown }).error, 'string');
    }
    for (const raw of ['[]', 'null', 'not json', '']) {
      const r = await post(srv, `${A}/enroll`, raw);
      assert.equal(r.status >= 400 && r.status < 500, true, raw);
    }
    assert.equal(await srv.app.store.agents.findByHardwareUuid(UUID), undefined);
  });

  it('should refuse check-ins and reports without a valid key or with bad fields, changing nothing', async (t) => {
    const srv = await startServer(t);
    const key = await keyOf(srv);
    for (const headers of [{}, { authorization: `NodeKey ${key}` }, auth('nope'), auth('')]) {
      const r = await post(srv, `${A}/checkin`, self(), headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.equal((r.json as { node_invalid?: boolean }).node_invalid, true);
    }
    const before = await srv.app.store.agents.findByHardwareUuid(UUID);
    for (const over of [{ os: 'plan9' }, { arch: '' }, { osqueryVersion: ' 5.1 ' }, { autoUpdate: 1 }]) {
      const r = await post(srv, `${A}/checkin`, self(over), auth(key));
      assert.equal(r.status, 400, JSON.stringify(over));
    }
    assert.deepEqual(await srv.app.store.agents.findByHardwareUuid(UUID), before);

    const good = { kind: 'osquery', fromVersion: '5.11.4', toVersion: '5.12.1', outcome: 'rolled_back', message: 'exited' };
    for (const over of [{ kind: 'kernel' }, { outcome: 'maybe' }, { toVersion: '' }, { message: 'm'.repeat(5000) }, { message: 3 }]) {
      const r = await post(srv, `${A}/report`, { ...good, ...over }, auth(key));
      assert.equal(r.status, 400, JSON.stringify(over).slice(0, 60));
    }
    assert.equal((await post(srv, `${A}/report`, good, auth('nope'))).status, 401);
    assert.deepEqual(await srv.app.store.agents.listReports(before?.id ?? 0, 10), []);
    assert.equal((await post(srv, `${A}/report`, good, auth(key))).status, 200);
    const [stored] = await srv.app.store.agents.listReports(before?.id ?? 0, 10);
    assert.equal(stored?.outcome, 'rolled_back');
  });

  it('should mark a re-approved older build as a rollback, and only that', async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const hex = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex');
    const srv = await startServer(t, { overrides: { updatePublicKeys: [hex] } });
    const admin = await apiUser(srv, 'admin');
    const base = '/api/v1/updates/osquery/artifacts';
    const register = async (version: string) => {
      const m = { version, os: 'linux', arch: 'amd64', url: `/api/v1/osquery/binary/linux/amd64/${version}/osqueryd`, sha256: 'a'.repeat(64), timestamp: '2026-04-04T12:00:00Z' };
      const signature = sign(null, canonicalManifest({ ...m, kind: 'osquery' }), privateKey).toString('hex');
      return (await api<{ artifact: { id: number } }>(admin, 'POST', base, { ...m, signature }, 201)).artifact.id;
    };
    const old = await register('5.11.4');
    const neu = await register('5.12.1');
    await api(admin, 'POST', `${base}/${old}/approve`, undefined, 200);
    await api(admin, 'POST', `${base}/${neu}/approve`, undefined, 200);
    await api(admin, 'PUT', `${base}/${neu}/rollout`, { percent: 100 }, 200);
    const key = await keyOf(srv);
    await enroll(srv, UUID, 'inst-1');
    type Answer = { osquery: { version: string; rollback: boolean } | null };
    const up = (await post(srv, `${A}/checkin`, self({ osqueryVersion: '5.11.4' }), auth(key))).json as Answer;
    assert.deepEqual([up.osquery?.version, up.osquery?.rollback], ['5.12.1', false]);
    // Seed 000's rollback: pause the new row, approve the previous manifest again with a rollout.
    await api(admin, 'PUT', `${base}/${neu}/rollout`, { percent: 0 }, 200);
    await api(admin, 'POST', `${base}/${old}/approve`, undefined, 200);
    await api(admin, 'PUT', `${base}/${old}/rollout`, { percent: 100 }, 200);
    const back = (await post(srv, `${A}/checkin`, self({ osqueryVersion: '5.12.1' }), auth(key))).json as Answer;
    assert.deepEqual([back.osquery?.version, back.osquery?.rollback], ['5.11.4', true]);
    // Auto-updates off: osquery is never offered.
    const off = (await post(srv, `${A}/checkin`, self({ osqueryVersion: '5.12.1', autoUpdate: false }), auth(key))).json as Answer;
    assert.equal(off.osquery, null);
  });
});
