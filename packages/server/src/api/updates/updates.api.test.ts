/**
 * Signed updates end to end over real HTTPS (seed 000, issue #5): admin-only access, register →
 * approve → rollout → delete with audit, signature checks and key rotation, the seed's
 * multi-platform picture as agents see it, rollback, binary upload and resumable downloads, and
 * the signing script.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AgentUpdateAnswer, RegisterUpdateRequest, UpdateArtifact, UpdateBinary, UpdateKind, UpdateProgress } from '@mimir/api-contract';
import { OsquerydStandin, makeHostProfile, type HostTemplate } from '@mimir/osquery-protocol/standin';
import { parseRange } from '../../osquery/binaries.routes.js';
import { cohortOf } from '../../services/updates/cohort.js';
import { canonicalManifest } from '../../services/updates/manifest.js';
import { api, apiUser, rawRequest, startServer, tempDir, type ApiCaller, type TestServer } from '../../../test/helper.js';

const SCRIPT = fileURLToPath(new URL('../../../../../scripts/sign-osquery-manifest.sh', import.meta.url));
const V1 = '/api/v1';

interface Signer {
  priv: KeyObject;
  hex: string;
}

function newSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { priv: privateKey, hex: Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex') };
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function defaultUrl(kind: UpdateKind, os: string, arch: string, version: string): string {
  return kind === 'osquery' ? `/api/v1/osquery/binary/${os}/${arch}/${version}/osqueryd` : `/api/v1/osquery/agent-binary/${os}/${arch}/${version}/mimir-agent`;
}

/** The Register form values a signing pipeline would print. */
function signed(s: Signer, kind: UpdateKind, over: Partial<Omit<RegisterUpdateRequest, 'signature'>> = {}): RegisterUpdateRequest {
  const version = over.version ?? '5.12.1';
  const os = over.os ?? 'linux';
  const arch = over.arch ?? 'amd64';
  const m = {
    kind, version, os, arch,
    url: over.url ?? defaultUrl(kind, os, arch, version),
    sha256: over.sha256 ?? sha256(`${kind} ${version} ${os}/${arch}`),
    timestamp: over.timestamp ?? '2026-04-04T12:00:00Z',
  };
  return { version, os, arch, url: m.url, sha256: m.sha256, timestamp: m.timestamp, signature: sign(null, canonicalManifest(m), s.priv).toString('hex') };
}

interface Result {
  artifact: UpdateArtifact;
  message: string;
}

const artifacts = (kind: UpdateKind) => `${V1}/updates/${kind}/artifacts`;

async function register(admin: ApiCaller, kind: UpdateKind, body: RegisterUpdateRequest): Promise<UpdateArtifact> {
  return (await api<Result>(admin, 'POST', artifacts(kind), body, 201)).artifact;
}

/** Register, approve and set a rollout (0 leaves it paused). */
async function publish(admin: ApiCaller, kind: UpdateKind, body: RegisterUpdateRequest, rollout: number): Promise<UpdateArtifact> {
  const a = await register(admin, kind, body);
  await api(admin, 'POST', `${artifacts(kind)}/${a.id}/approve`, undefined, 200);
  if (rollout > 0) await api(admin, 'PUT', `${artifacts(kind)}/${a.id}/rollout`, { percent: rollout }, 200);
  return a;
}

async function auditActions(srv: TestServer, action: string) {
  return srv.app.store.audit.list({ limit: 100, action });
}

interface Host {
  id: number;
  key: string;
}

async function enrollHost(t: TestContext, srv: TestServer, template: HostTemplate, seed: number, osqueryVersion = '5.11.4'): Promise<Host> {
  const s = new OsquerydStandin({
    tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret,
    profile: makeHostProfile(template, `updates-${seed}`, { version: osqueryVersion }),
    sleep: () => Promise.resolve(),
  });
  t.after(() => s.close());
  const e = await s.enroll();
  assert.ok(e.ok, JSON.stringify(e));
  const key = await s.getNodeKey();
  const h = await srv.app.services.cache.authenticate(key);
  assert.ok(h);
  return { id: h.id, key };
}

interface CheckBody {
  os: string;
  arch: string;
  osqueryVersion: string;
  agentVersion?: string;
  autoUpdate?: boolean;
}

async function ask(srv: TestServer, h: Host, body: CheckBody): Promise<AgentUpdateAnswer> {
  const r = await rawRequest(srv, `${V1}/osquery/updates`, {
    body: JSON.stringify({ agentVersion: '1.0.0', autoUpdate: true, ...body }),
    headers: { authorization: `NodeKey ${h.key}` },
  });
  assert.equal(r.status, 200, r.text);
  return r.json as AgentUpdateAnswer;
}

interface BinaryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET (or HEAD) that keeps the body as bytes. */
function fetchBytes(srv: TestServer, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<BinaryResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port: srv.port, path, method, headers, ca: srv.ca, servername: 'localhost', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** multipart/form-data by hand: fields in order, then the file parts. */
function multipart(fields: Record<string, string>, files: Array<{ name: string; data: Buffer }> = []): { body: Buffer; type: string } {
  const boundary = `----mimir${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  for (const f of files) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="osqueryd"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    parts.push(f.data, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

function upload(srv: TestServer, caller: ApiCaller, fields: Record<string, string>, files: Array<{ name: string; data: Buffer }>) {
  const { body, type } = multipart(fields, files);
  return rawRequest(srv, `${V1}/updates/binaries`, { body, headers: { authorization: `Bearer ${caller.token}`, 'content-type': type } });
}

function errorOf(json: unknown): { code: string; message: string; details?: Array<{ path: string; message: string }> } {
  return (json as { error: { code: string; message: string; details?: Array<{ path: string; message: string }> } }).error;
}

async function withKeys(t: TestContext, keys: string[], dataDir?: string): Promise<TestServer> {
  return startServer(t, { ...(dataDir !== undefined ? { dataDir } : {}), overrides: { updatePublicKeys: keys } });
}

void describe('updates API: access', () => {
  void it('should hide every updates route from operators and read-only users (403) and from anonymous callers (401)', async (t) => {
    const srv = await withKeys(t, [newSigner().hex]);
    const admin = await apiUser(srv, 'admin');
    const routes: Array<[string, string, unknown]> = [];
    for (const kind of ['osquery', 'agent']) {
      routes.push(
        ['GET', `${V1}/updates/${kind}/artifacts`, undefined],
        ['GET', `${V1}/updates/${kind}/artifacts/1`, undefined],
        ['POST', `${V1}/updates/${kind}/artifacts`, signed(newSigner(), 'osquery')],
        ['POST', `${V1}/updates/${kind}/artifacts/1/approve`, undefined],
        ['PUT', `${V1}/updates/${kind}/artifacts/1/rollout`, { percent: 0 }],
        ['DELETE', `${V1}/updates/${kind}/artifacts/1`, undefined],
        ['GET', `${V1}/updates/${kind}/artifacts/1/progress`, undefined],
      );
    }
    routes.push(['GET', `${V1}/updates/binaries`, undefined]);
    for (const role of ['readonly', 'operator'] as const) {
      const caller = await apiUser(srv, role);
      for (const [method, path, body] of routes) {
        const r = await caller.call(method, path, body);
        assert.equal(r.status, 403, `${role} ${method} ${path}: ${r.text}`);
        assert.equal(errorOf(r.json).code, 'forbidden');
      }
      const up = await upload(srv, caller, { kind: 'osquery', os: 'linux', arch: 'amd64', version: '5.12.1' }, [{ name: 'file', data: Buffer.from('x') }]);
      assert.equal(up.status, 403, `${role} upload`);
    }
    for (const [method, path, body] of routes) {
      const r = await rawRequest(srv, path, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      assert.equal(r.status, 401, `anonymous ${method} ${path}`);
    }
    assert.deepEqual(await api(admin, 'GET', artifacts('osquery'), undefined, 200), { items: [], nextCursor: null });
    assert.deepEqual(await api(admin, 'GET', `${V1}/updates/binaries`, undefined, 200), { items: [], nextCursor: null });
    assert.equal((await admin.call('GET', `${V1}/updates/other/artifacts`)).status, 400, 'kind is osquery or agent');
  });
});

void describe('updates API: register, approve, rollout, delete', () => {
  void it('should walk a row from Pending to deleted with the seed texts, auditing each change once', async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const reg = await api<Result>(admin, 'POST', artifacts('osquery'), signed(signer, 'osquery'), 201);
    assert.equal(reg.message, 'osquery 5.12.1 (linux/amd64) registered');
    const a = reg.artifact;
    assert.equal(a.status, 'pending');
    assert.equal(a.rollout, 0);
    assert.equal(a.platform, 'linux/amd64');
    assert.deepEqual(a.rolloutPresets, [0, 1, 5, 25, 100]);
    assert.equal(a.deletable, true);
    assert.equal(a.binary, 'missing');
    assert.equal(a.addedBy, admin.email);
    assert.equal(a.approvedAt, null);
    assert.match(a.keyId, /^[0-9a-f]{16}$/);
    const url = `${artifacts('osquery')}/${a.id}`;

    // Pending rows cannot be rolled out.
    const early = await admin.call('PUT', `${url}/rollout`, { percent: 5 });
    assert.equal(early.status, 409);
    assert.match(errorOf(early.json).message, /pending: approve it before rollout/);

    const approved = await api<Result>(admin, 'POST', `${url}/approve`, undefined, 200);
    assert.equal(approved.message, 'osquery 5.12.1 (linux/amd64) approved');
    assert.equal(approved.artifact.status, 'approved');
    assert.equal(approved.artifact.approvedBy, admin.email);
    assert.equal(approved.artifact.rollout, 0, 'approval does not move the dial');

    const notPreset = await admin.call('PUT', `${url}/rollout`, { percent: 50 });
    assert.equal(notPreset.status, 422);
    assert.equal(errorOf(notPreset.json).details?.[0]?.path, '/percent');
    assert.equal((await admin.call('PUT', `${url}/rollout`, { percent: 101 })).status, 400);

    const five = await api<{ artifact: UpdateArtifact; message: string; changed: boolean }>(admin, 'PUT', `${url}/rollout`, { percent: 5 }, 200);
    assert.deepEqual([five.message, five.changed, five.artifact.rollout, five.artifact.deletable], ['Rollout set to 5%', true, 5, false]);
    const again = await api<{ changed: boolean; artifact: UpdateArtifact }>(admin, 'PUT', `${url}/rollout`, { percent: 5 }, 200);
    assert.equal(again.changed, false, 'the current value again changes nothing');
    assert.equal(again.artifact.rollout, 5);
    assert.equal((await auditActions(srv, 'update.rollout')).length, 1, 'and leaves no audit entry');
    await api(admin, 'PUT', `${url}/rollout`, { percent: 25 }, 200);

    const refused = await admin.call('DELETE', url);
    assert.equal(refused.status, 409);
    assert.equal(errorOf(refused.json).message, 'Set rollout to 0% before deleting.');
    assert.equal((await api<{ items: unknown[] }>(admin, 'GET', artifacts('osquery'))).items.length, 1);

    await api(admin, 'PUT', `${url}/rollout`, { percent: 0 }, 200);
    const gone = await api<{ ok: boolean; message: string }>(admin, 'DELETE', url, undefined, 200);
    assert.equal(gone.message, 'osquery 5.12.1 (linux/amd64) deleted');
    assert.equal((await admin.call('GET', url)).status, 404);
    assert.equal((await admin.call('DELETE', url)).status, 404, 'delete is final');

    const counts = Object.fromEntries(
      await Promise.all(['update.register', 'update.approve', 'update.rollout', 'update.delete'].map(async (x) => [x, (await auditActions(srv, x)).length] as const)),
    );
    assert.deepEqual(counts, { 'update.register': 1, 'update.approve': 1, 'update.rollout': 3, 'update.delete': 1 });
    const rollouts = (await auditActions(srv, 'update.rollout')).map((e) => JSON.parse(e.details) as { from: number; to: number });
    assert.deepEqual(rollouts.map((d) => [d.from, d.to]).reverse(), [[0, 5], [5, 25], [25, 0]]);
    const [reg1] = await auditActions(srv, 'update.register');
    assert.ok(reg1);
    assert.equal(reg1.actor_email, admin.email);
    assert.equal(reg1.target_id, String(a.id));
  });

  void it('should use the agent dial presets, refuse duplicates and page the list', async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const agent = await publish(admin, 'agent', signed(signer, 'agent', { version: '1.4.0' }), 0);
    assert.deepEqual(agent.rolloutPresets, [0, 10, 25, 50, 100]);
    assert.equal((await admin.call('PUT', `${artifacts('agent')}/${agent.id}/rollout`, { percent: 50 })).status, 200);
    assert.equal((await admin.call('PUT', `${artifacts('agent')}/${agent.id}/rollout`, { percent: 1 })).status, 422);
    // Kinds are separate lists; an id of the other kind is not found.
    assert.equal((await admin.call('GET', `${artifacts('osquery')}/${agent.id}`)).status, 404);

    const dup = await admin.call('POST', artifacts('agent'), signed(signer, 'agent', { version: '1.4.0', timestamp: '2026-05-01T00:00:00Z' }));
    assert.equal(dup.status, 409);
    for (const version of ['5.10.0', '5.11.4', '5.12.1']) await register(admin, 'osquery', signed(signer, 'osquery', { version }));
    const p1 = await api<{ items: UpdateArtifact[]; nextCursor: string | null }>(admin, 'GET', `${artifacts('osquery')}?limit=2`, undefined, 200);
    assert.deepEqual(p1.items.map((x) => x.version), ['5.12.1', '5.11.4']);
    assert.ok(p1.nextCursor !== null);
    const p2 = await api<{ items: UpdateArtifact[]; nextCursor: string | null }>(admin, 'GET', `${artifacts('osquery')}?limit=2&cursor=${p1.nextCursor}`, undefined, 200);
    assert.deepEqual(p2.items.map((x) => x.version), ['5.10.0']);
    assert.equal(p2.nextCursor, null);
    const pending = await api<{ items: UpdateArtifact[] }>(admin, 'GET', `${artifacts('osquery')}?status=approved`, undefined, 200);
    assert.equal(pending.items.length, 0);
  });
});

void describe('updates API: signatures', () => {
  void it('should refuse any value the signature does not cover, and store nothing', async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const good = signed(signer, 'osquery');
    const sig = Buffer.from(good.signature, 'hex');
    const cases: Array<[string, RegisterUpdateRequest, string]> = [
      ['truncated signature', { ...good, signature: good.signature.slice(0, 100) }, '/signature'],
      ['base64 signature', { ...good, signature: sig.toString('base64') }, '/signature'],
      ['empty signature', { ...good, signature: '' }, '/signature'],
      ['wrong key', signed(newSigner(), 'osquery'), '/signature'],
      ['SHA from another build', { ...good, sha256: sha256('another build') }, '/signature'],
      ['URL changed after signing', { ...good, url: '/api/v1/osquery/binary/linux/amd64/5.12.2/osqueryd' }, '/signature'],
      ['timestamp changed', { ...good, timestamp: '2026-04-04T12:00:01Z' }, '/signature'],
      ['version changed', { ...good, version: '5.12.2' }, '/signature'],
      ['signed for the agent panel', signed(signer, 'agent'), '/signature'],
      ['SHA not 64 hex', { ...good, sha256: good.sha256.slice(1) }, '/sha256'],
      ['URL outside /api/', { ...good, url: 'https://example.com/osqueryd' }, '/url'],
      ['unknown OS', { ...good, os: 'macos' }, '/os'],
      ['timestamp not RFC 3339 UTC', { ...good, timestamp: '04/04/2026' }, '/timestamp'],
    ];
    for (const [name, body, path] of cases) {
      const r = await admin.call('POST', artifacts('osquery'), body);
      assert.equal(r.status, 422, `${name}: ${r.text}`);
      const e = errorOf(r.json);
      assert.equal(e.code, 'validation_failed');
      assert.ok(e.details?.some((d) => d.path === path), `${name}: ${JSON.stringify(e.details)}`);
      if (path === '/signature' && name !== 'empty signature' && !name.includes('base64') && !name.includes('truncated')) {
        assert.match(e.message, /Re-paste both the SHA256 and the signature/);
      }
    }
    const b64 = errorOf((await admin.call('POST', artifacts('osquery'), { ...good, signature: sig.toString('base64') })).json);
    assert.match(b64.details?.[0]?.message ?? '', /looks like base64/);
    const many = errorOf((await admin.call('POST', artifacts('osquery'), { ...good, sha256: 'x', url: 'x', arch: 'x86' })).json);
    assert.deepEqual(many.details?.map((d) => d.path), ['/arch', '/url', '/sha256']);
    assert.equal((await admin.call('POST', artifacts('osquery'), { version: '5.12.1' })).status, 400);

    assert.deepEqual(await api(admin, 'GET', artifacts('osquery')), { items: [], nextCursor: null });
    assert.deepEqual(await api(admin, 'GET', artifacts('agent')), { items: [], nextCursor: null });
    assert.equal((await auditActions(srv, 'update.register')).length, 0);
    assert.equal((await admin.call('POST', artifacts('osquery'), good)).status, 201, 'the untouched values register');
  });

  void it('should say so when no signing key is configured', async (t) => {
    const srv = await withKeys(t, []);
    const admin = await apiUser(srv, 'admin');
    const r = await admin.call('POST', artifacts('osquery'), signed(newSigner(), 'osquery'));
    assert.equal(r.status, 422);
    assert.match(errorOf(r.json).details?.[0]?.message ?? '', /MIMIR_UPDATE_PUBLIC_KEYS/);
  });

  void it('should trust two keys while rotating, and verify again on approve with the keys configured then', async (t) => {
    const oldKey = newSigner();
    const newKey = newSigner();
    const dataDir = tempDir(t);
    const first = await withKeys(t, [oldKey.hex, newKey.hex], dataDir);
    let admin = await apiUser(first, 'admin', 'rotation-admin@example.com');
    const byOld = await register(admin, 'osquery', signed(oldKey, 'osquery', { version: '5.11.4' }));
    const byNew = await register(admin, 'osquery', signed(newKey, 'osquery', { version: '5.12.1' }));
    assert.notEqual(byOld.keyId, byNew.keyId);
    await first.stop();

    // The old key is retired: its manifests no longer approve.
    const second = await withKeys(t, [newKey.hex], dataDir);
    admin = { ...admin, call: (m, p, b) => rawRequest(second, p, { method: m, headers: { authorization: `Bearer ${admin.token}` }, ...(b !== undefined ? { body: JSON.stringify(b) } : {}) }) };
    const refused = await admin.call('POST', `${artifacts('osquery')}/${byOld.id}/approve`);
    assert.equal(refused.status, 422, refused.text);
    assert.match(errorOf(refused.json).message, /^Approve failed: the Ed25519 manifest signature of osquery 5\.11\.4 \(linux\/amd64\) does not verify/);
    assert.equal((await api<UpdateArtifact>(admin, 'GET', `${artifacts('osquery')}/${byOld.id}`)).status, 'pending');
    assert.equal((await admin.call('POST', `${artifacts('osquery')}/${byNew.id}/approve`)).status, 200);
    assert.equal((await auditActions(second, 'update.approve')).length, 1);
  });
});

void describe('updates: what agents are told', () => {
  void it("should serve the seed's multi-platform picture at once, and report progress", async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const linux: Host[] = [];
    for (let i = 0; i < 12; i++) linux.push(await enrollHost(t, srv, i % 2 === 0 ? 'ubuntu' : 'rhel', i));
    const mac: Host[] = [];
    for (let i = 0; i < 3; i++) mac.push(await enrollHost(t, srv, 'macos', 100 + i));
    const win: Host[] = [];
    for (let i = 0; i < 4; i++) win.push(await enrollHost(t, srv, 'windows', 200 + i));
    const armLinux = await enrollHost(t, srv, 'ubuntu', 300);

    const l = await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.12.1', os: 'linux', arch: 'amd64' }), 25);
    // The seed pictures linux/amd64 "at 50%", which is not an osquery preset (0/1/5/25/100; 50 is on
    // the agent dial): set it underneath the API to check serving at that value too.
    await srv.app.store.updates.setRollout(l.id, 50, Date.now());
    const d = await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.12.1', os: 'darwin', arch: 'arm64' }), 0);
    const w = await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.11.4', os: 'windows', arch: 'amd64' }), 100);
    const agentRow = await publish(admin, 'agent', signed(signer, 'agent', { version: '1.1.0', os: 'linux', arch: 'amd64' }), 50);

    const inLinux = linux.filter((h) => cohortOf(h.id, '5.12.1') < 50);
    assert.ok(inLinux.length > 0 && inLinux.length < linux.length, 'both sides of the cohort are represented');
    const lRow = await api<UpdateArtifact>(admin, 'GET', `${artifacts('osquery')}/${l.id}`);
    for (const h of linux) {
      const ans = await ask(srv, h, { os: 'linux', arch: 'x86_64', osqueryVersion: '5.11.4' });
      if (inLinux.includes(h)) {
        assert.deepEqual(ans.osquery, { version: '5.12.1', url: lRow.url, sha256: lRow.sha256, signature: lRow.signature, timestamp: lRow.timestamp });
      } else assert.equal(ans.osquery, null, `host ${h.id} is outside the 50%`);
      const inAgent = cohortOf(h.id, '1.1.0') < 50;
      assert.equal(ans.agent?.version ?? null, inAgent ? '1.1.0' : null, `agent for host ${h.id}`);
    }
    for (const h of mac) assert.deepEqual(await ask(srv, h, { os: 'darwin', arch: 'arm64', osqueryVersion: '5.11.4' }), { osquery: null, agent: null }, 'darwin/arm64 is paused');
    for (const h of win.slice(0, 3)) {
      const ans = await ask(srv, h, { os: 'windows', arch: 'amd64', osqueryVersion: '5.10.0' });
      assert.equal(ans.osquery?.version, '5.11.4');
      assert.equal(ans.agent, null);
    }
    assert.deepEqual(await ask(srv, armLinux, { os: 'linux', arch: 'aarch64', osqueryVersion: '5.11.4' }), { osquery: null, agent: null }, 'no row for linux/arm64');

    // Installer left osquery auto-updates off: never offered osquery, still offered the agent.
    const inBoth = inLinux.find((h) => cohortOf(h.id, '1.1.0') < 50);
    if (inBoth !== undefined) {
      const off = await ask(srv, inBoth, { os: 'linux', arch: 'amd64', osqueryVersion: '5.11.4', autoUpdate: false });
      assert.equal(off.osquery, null);
      assert.equal(off.agent?.version, '1.1.0');
    }

    // The reported agent version lands on the host row (hosts filter by it).
    assert.equal((await srv.app.store.hosts.findById(linux[0]?.id ?? 0))?.agent_version, '1.0.0');

    // Progress: hosts of the platform, in the cohort, already on the version.
    for (const h of inLinux) await ask(srv, h, { os: 'linux', arch: 'amd64', osqueryVersion: '5.12.1', autoUpdate: h !== inBoth });
    const pl = await api<UpdateProgress>(admin, 'GET', `${artifacts('osquery')}/${l.id}/progress`, undefined, 200);
    assert.deepEqual(pl, {
      artifactId: l.id, kind: 'osquery', version: '5.12.1', platform: 'linux/amd64', rollout: 50,
      hostsTotal: 12, hostsInCohort: inLinux.length, hostsOnVersion: inLinux.length, hostsReporting: 12, autoUpdateOff: inBoth === undefined ? 0 : 1,
    });
    const pw = await api<UpdateProgress>(admin, 'GET', `${artifacts('osquery')}/${w.id}/progress`, undefined, 200);
    // The fourth Windows host never asked: counted from its osquery tables ("64-bit" → amd64).
    assert.deepEqual([pw.hostsTotal, pw.hostsInCohort, pw.hostsReporting, pw.hostsOnVersion], [4, 4, 3, 0]);
    const pd = await api<UpdateProgress>(admin, 'GET', `${artifacts('osquery')}/${d.id}/progress`, undefined, 200);
    assert.deepEqual([pd.hostsTotal, pd.hostsInCohort], [3, 0]);
    const pa = await api<UpdateProgress>(admin, 'GET', `${artifacts('agent')}/${agentRow.id}/progress`, undefined, 200);
    assert.equal(pa.hostsTotal, 12);
    assert.equal(pa.hostsOnVersion, 0);
  });

  void it('should roll back only through a new approval: pausing or deleting never sends anyone back', async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const a = await enrollHost(t, srv, 'ubuntu', 1);
    const b = await enrollHost(t, srv, 'ubuntu', 2);
    const c = await enrollHost(t, srv, 'ubuntu', 3);
    const old = await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.11.4' }), 100);
    const neu = await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.12.1' }), 100);
    const linuxCheck = (h: Host, v: string) => ask(srv, h, { os: 'linux', arch: 'amd64', osqueryVersion: v });

    assert.equal((await linuxCheck(a, '5.11.4')).osquery?.version, '5.12.1');
    assert.equal((await linuxCheck(a, '5.12.1')).osquery?.version, '5.12.1', 'already there');

    // Pause the new row: A stays on 5.12.1, B stays on 5.11.4, a host on an unmanaged version gets 5.11.4.
    await api(admin, 'PUT', `${artifacts('osquery')}/${neu.id}/rollout`, { percent: 0 }, 200);
    assert.equal((await linuxCheck(a, '5.12.1')).osquery, null);
    assert.equal((await linuxCheck(b, '5.11.4')).osquery?.version, '5.11.4');
    assert.equal((await linuxCheck(c, '5.10.0')).osquery?.version, '5.11.4');

    // Deleting it changes nothing for A either.
    await api(admin, 'DELETE', `${artifacts('osquery')}/${neu.id}`, undefined, 200);
    assert.equal((await linuxCheck(a, '5.12.1')).osquery, null);

    // The deliberate rollback: approve the previous version's manifest again.
    const again = await api<Result>(admin, 'POST', `${artifacts('osquery')}/${old.id}/approve`, undefined, 200);
    assert.equal(again.message, 'osquery 5.11.4 (linux/amd64) approved');
    assert.equal((await linuxCheck(a, '5.12.1')).osquery?.version, '5.11.4');
    const approvals = (await auditActions(srv, 'update.approve')).map((e) => JSON.parse(e.details) as { again: boolean; version: string });
    assert.deepEqual(approvals[0], { kind: 'osquery', version: '5.11.4', os: 'linux', arch: 'amd64', again: true });

    // A deleted version can be registered anew and served again after approval.
    await publish(admin, 'osquery', signed(signer, 'osquery', { version: '5.12.1', timestamp: '2026-06-01T00:00:00Z' }), 100);
    assert.equal((await linuxCheck(a, '5.11.4')).osquery?.version, '5.12.1');
  });

  void it('should authenticate update checks by node key and refuse bad reports', async (t) => {
    const srv = await withKeys(t, [newSigner().hex]);
    const h = await enrollHost(t, srv, 'ubuntu', 1);
    const path = `${V1}/osquery/updates`;
    const body = { os: 'linux', arch: 'amd64', osqueryVersion: '5.11.4', agentVersion: '1.0.0', autoUpdate: true };
    const none = await rawRequest(srv, path, { body: JSON.stringify(body) });
    assert.equal(none.status, 401);
    assert.deepEqual(none.json, { node_invalid: true, error: 'invalid node key' });
    assert.equal((await rawRequest(srv, path, { body: JSON.stringify(body), headers: { authorization: 'NodeKey nope' } })).status, 401);
    assert.equal((await rawRequest(srv, path, { body: JSON.stringify({ ...body, node_key: h.key }) })).status, 200, 'body node_key');
    assert.equal((await rawRequest(srv, path, { body: JSON.stringify({ ...body, node_key: 'other' }), headers: { authorization: `NodeKey ${h.key}` } })).status, 401, 'header and body disagree');
    const bad = await rawRequest(srv, path, { body: JSON.stringify({ ...body, os: 'plan9' }), headers: { authorization: `NodeKey ${h.key}` } });
    assert.equal(bad.status, 400);
    assert.match((bad.json as { error: string }).error, /os must be one of linux, darwin, windows, freebsd/);
    assert.equal((await rawRequest(srv, path, { body: JSON.stringify({ ...body, autoUpdate: 'yes' }), headers: { authorization: `NodeKey ${h.key}` } })).status, 400);
    assert.equal((await rawRequest(srv, path, { body: 'not json', headers: { authorization: `NodeKey ${h.key}` } })).status, 400);
    assert.equal((await rawRequest(srv, path, { method: 'GET', headers: { authorization: `NodeKey ${h.key}` } })).status, 405);
  });
});

void describe('updates: binaries', () => {
  void it('should upload a binary and serve it byte for byte to enrolled agents only, with resumable ranges', async (t) => {
    const signer = newSigner();
    const srv = await withKeys(t, [signer.hex]);
    const admin = await apiUser(srv, 'admin');
    const host = await enrollHost(t, srv, 'ubuntu', 1);
    const data = randomBytes(300_000);
    const fields = { kind: 'osquery', os: 'linux', arch: 'amd64', version: '5.12.1' };

    const up = await upload(srv, admin, fields, [{ name: 'file', data }]);
    assert.equal(up.status, 201, up.text);
    const stored = (up.json as { binary: UpdateBinary; message: string }).binary;
    assert.deepEqual([stored.sha256, stored.size, stored.url], [sha256(data), data.length, '/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd']);
    assert.equal((up.json as { message: string }).message, 'osquery 5.12.1 (linux/amd64) binary stored');
    assert.deepEqual(readFileSync(join(srv.dataDir, 'binaries', 'osquery', 'linux', 'amd64', '5.12.1', 'osqueryd')), data);
    assert.deepEqual(readdirSync(join(srv.dataDir, 'binaries', '.tmp')), [], 'no temporary file left');
    const same = await upload(srv, admin, fields, [{ name: 'file', data }]);
    assert.equal(same.status, 200);
    assert.equal((same.json as { changed: boolean }).changed, false);
    assert.equal((await auditActions(srv, 'update.binary_upload')).length, 2);

    const url = stored.url;
    const auth = { authorization: `NodeKey ${host.key}` };
    const anon = await fetchBytes(srv, url);
    assert.equal(anon.status, 401);
    assert.deepEqual(JSON.parse(anon.body.toString('utf8')), { node_invalid: true, error: 'send the node key as Authorization: NodeKey <key>' });
    assert.equal((await fetchBytes(srv, url, { authorization: 'NodeKey not-a-key' })).status, 401);
    assert.equal((await fetchBytes(srv, url, { authorization: `Bearer ${admin.token}` })).status, 401, 'operator tokens are not agents');

    const full = await fetchBytes(srv, url, auth);
    assert.equal(full.status, 200);
    assert.ok(full.body.equals(data), 'byte for byte');
    assert.equal(sha256(full.body), stored.sha256);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(full.headers['etag'], `"${stored.sha256}"`);
    assert.equal(full.headers['content-length'], String(data.length));
    assert.equal(full.headers['repr-digest'], `sha-256=:${Buffer.from(stored.sha256, 'hex').toString('base64')}:`);

    // Resume: the first 100000 bytes, then the rest.
    const first = await fetchBytes(srv, url, { ...auth, range: 'bytes=0-99999' });
    assert.equal(first.status, 206);
    assert.equal(first.headers['content-range'], `bytes 0-99999/${data.length}`);
    const rest = await fetchBytes(srv, url, { ...auth, range: 'bytes=100000-', 'if-range': `"${stored.sha256}"` });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers['content-range'], `bytes 100000-299999/${data.length}`);
    assert.equal(sha256(Buffer.concat([first.body, rest.body])), stored.sha256);
    const tail = await fetchBytes(srv, url, { ...auth, range: 'bytes=-10' });
    assert.ok(tail.body.equals(data.subarray(data.length - 10)));
    const beyond = await fetchBytes(srv, url, { ...auth, range: `bytes=${data.length}-` });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${data.length}`);
    assert.equal((await fetchBytes(srv, url, { ...auth, range: 'bytes=0-1,5-6' })).status, 200, 'several ranges: the whole file');
    const changed = await fetchBytes(srv, url, { ...auth, range: 'bytes=10-', 'if-range': '"something-else"' });
    assert.equal(changed.status, 200, 'If-Range mismatch: the whole (new) file');
    assert.equal(changed.body.length, data.length);
    const head = await fetchBytes(srv, url, auth, 'HEAD');
    assert.deepEqual([head.status, head.headers['content-length'], head.body.length], [200, String(data.length), 0]);
    assert.equal((await fetchBytes(srv, '/api/v1/osquery/binary/linux/amd64/9.9.9/osqueryd', auth)).status, 404);

    // The row that names it: stored and matching; a manifest with another SHA cannot be approved.
    const row = await register(admin, 'osquery', signed(signer, 'osquery', { sha256: stored.sha256 }));
    assert.equal(row.binary, 'stored');
    const other = await register(admin, 'osquery', signed(signer, 'osquery', { version: '5.12.9', url, sha256: sha256('other bytes') }));
    assert.equal(other.binary, 'sha_mismatch');
    const refused = await admin.call('POST', `${artifacts('osquery')}/${other.id}/approve`);
    assert.equal(refused.status, 409);
    assert.match(errorOf(refused.json).message, /every agent would reject it/);
    // Once approved, its binary cannot be swapped for other bytes.
    await api(admin, 'POST', `${artifacts('osquery')}/${row.id}/approve`, undefined, 200);
    const swap = await upload(srv, admin, fields, [{ name: 'file', data: randomBytes(1000) }]);
    assert.equal(swap.status, 409, swap.text);
    assert.ok(readFileSync(join(srv.dataDir, 'binaries', 'osquery', 'linux', 'amd64', '5.12.1', 'osqueryd')).equals(data));

    // Agent builds live at their own path.
    const agentData = randomBytes(5000);
    const ag = await upload(srv, admin, { kind: 'agent', os: 'darwin', arch: 'arm64', version: '1.2.0' }, [{ name: 'file', data: agentData }]);
    assert.equal(ag.status, 201, ag.text);
    const agentUrl = (ag.json as { binary: UpdateBinary }).binary.url;
    assert.equal(agentUrl, '/api/v1/osquery/agent-binary/darwin/arm64/1.2.0/mimir-agent');
    assert.ok((await fetchBytes(srv, agentUrl, auth)).body.equals(agentData));
    const list = await api<{ items: UpdateBinary[] }>(admin, 'GET', `${V1}/updates/binaries`, undefined, 200);
    assert.deepEqual(list.items.map((b) => b.kind), ['agent', 'osquery']);
  });

  void it('should refuse bad uploads and store nothing', async (t) => {
    const srv = await withKeys(t, [newSigner().hex]);
    const admin = await apiUser(srv, 'admin');
    const file = [{ name: 'file', data: Buffer.from('binary') }];
    const ok = { kind: 'osquery', os: 'linux', arch: 'amd64', version: '5.12.1' };
    const json = await admin.call('POST', `${V1}/updates/binaries`, ok);
    assert.equal(json.status, 415);
    const cases: Array<[string, Record<string, string>, Array<{ name: string; data: Buffer }>, number, string]> = [
      ['no file', ok, [], 422, '/file'],
      ['empty file', ok, [{ name: 'file', data: Buffer.alloc(0) }], 422, '/file'],
      ['bad kind', { ...ok, kind: 'firmware' }, file, 422, '/kind'],
      ['bad os', { ...ok, os: 'macos' }, file, 422, '/os'],
      ['bad arch', { ...ok, arch: 'x86_64' }, file, 422, '/arch'],
      ['no version', { kind: 'osquery', os: 'linux', arch: 'amd64' }, file, 422, '/version'],
      ['path in version', { ...ok, version: '../../etc' }, file, 201, ''],
      ['unknown field', { ...ok, note: 'hi' }, file, 422, '/note'],
      ['misnamed file part', ok, [{ name: 'binary', data: Buffer.from('x') }], 422, '/binary'],
      ['field too long', { ...ok, version: 'v'.repeat(2000) }, file, 422, '/version'],
      ['two files', ok, [...file, ...file], 413, ''],
    ];
    for (const [name, fields, files, status, path] of cases) {
      const r = await upload(srv, admin, fields, files);
      assert.equal(r.status, status, `${name}: ${r.text}`);
      if (path !== '') assert.ok(errorOf(r.json).details?.some((d) => d.path === path), `${name}: ${r.text}`);
    }
    // Only the odd-but-valid version was stored, inside the store.
    const list = await api<{ items: UpdateBinary[] }>(admin, 'GET', `${V1}/updates/binaries`, undefined, 200);
    assert.deepEqual(list.items.map((b) => b.version), ['../../etc']);
    assert.ok(existsSync(join(srv.dataDir, 'binaries', 'osquery', 'linux', 'amd64', `~${Buffer.from('../../etc').toString('base64url')}`, 'osqueryd')));
    assert.deepEqual(readdirSync(join(srv.dataDir, 'binaries', '.tmp')), []);
  });

  void it('should parse Range headers (single range, suffix, open end, unsatisfiable)', () => {
    assert.deepEqual(parseRange(undefined, 10), { kind: 'full' });
    assert.deepEqual(parseRange('bytes=0-4', 10), { kind: 'partial', start: 0, end: 4 });
    assert.deepEqual(parseRange('bytes=5-', 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=5-100', 10), { kind: 'partial', start: 5, end: 9 });
    assert.deepEqual(parseRange('bytes=-3', 10), { kind: 'partial', start: 7, end: 9 });
    assert.deepEqual(parseRange('bytes=-30', 10), { kind: 'partial', start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=10-', 10), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 10), { kind: 'unsatisfiable' });
    for (const h of ['bytes=5-2', 'items=0-1', 'bytes=0-1,3-4', 'bytes=-', 'bytes=a-b']) assert.deepEqual(parseRange(h, 10), { kind: 'full' }, h);
  });
});

void describe('scripts/sign-osquery-manifest.sh', () => {
  const run = (args: string[], cwd: string) => spawnSync('bash', [SCRIPT, ...args], { cwd, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });

  void it('should make keys and sign values the server accepts, serves and agents can verify', async (t) => {
    const dir = tempDir(t, 'mimir-sign-');
    const keygen = run(['keygen', '--out', 'keys'], dir);
    assert.equal(keygen.status, 0, keygen.stderr);
    const pub = join(dir, 'keys', 'mimir-update-signing.pub.pem');
    const priv = join(dir, 'keys', 'mimir-update-signing.key.pem');
    assert.match(keygen.stdout, /MIMIR_UPDATE_PUBLIC_KEYS=/);
    assert.equal(run(['keygen', '--out', 'keys'], dir).status, 2, 'never overwrites a key');

    const data = randomBytes(20_000);
    writeFileSync(join(dir, 'osqueryd'), data);
    const out = run(['sign', '--key', priv, '--binary', 'osqueryd', '--version', '5.12.1', '--os', 'linux', '--arch', 'amd64'], dir);
    assert.equal(out.status, 0, out.stderr);
    const field = (label: string) => new RegExp(`^\\s*${label}:\\s+(\\S+)$`, 'm').exec(out.stdout)?.[1] ?? '';
    const form = {
      version: field('Version'), os: field('OS'), arch: field('Arch'), url: field('Download URL'),
      sha256: field('SHA256'), signature: field('Manifest signature'), timestamp: field('Manifest timestamp'),
    };
    assert.equal(form.sha256, sha256(data));
    assert.match(form.signature, /^[0-9a-f]{128}$/);
    assert.match(form.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(out.stdout.includes(canonicalManifest({ kind: 'osquery', ...form }).toString('utf8')), 'the script prints the server\'s canonical bytes');

    const srv = await withKeys(t, [pub]);
    const admin = await apiUser(srv, 'admin');
    assert.equal((await upload(srv, admin, { kind: 'osquery', os: 'linux', arch: 'amd64', version: '5.12.1' }, [{ name: 'file', data }])).status, 201);
    const row = await publish(admin, 'osquery', form, 100);
    assert.equal((await api<UpdateArtifact>(admin, 'GET', `${artifacts('osquery')}/${row.id}`)).binary, 'stored');

    // As an agent: ask, download, check the SHA-256, verify the manifest signature with the public key.
    const host = await enrollHost(t, srv, 'ubuntu', 7);
    const target = (await ask(srv, host, { os: 'linux', arch: 'amd64', osqueryVersion: '5.11.4' })).osquery;
    assert.ok(target);
    const bin = await fetchBytes(srv, target.url, { authorization: `NodeKey ${host.key}` });
    assert.equal(sha256(bin.body), target.sha256);
    const manifest = canonicalManifest({ kind: 'osquery', os: 'linux', arch: 'amd64', ...target });
    assert.ok(verify(null, manifest, createPublicKey(readFileSync(pub)), Buffer.from(target.signature, 'hex')));

    // --kind agent signs for the Agent Updates panel, with a JSON output for CI.
    const agentOut = run(['sign', '--key', priv, '--sha256', sha256('agent build'), '--version', '1.2.0', '--os', 'windows', '--arch', 'amd64', '--kind', 'agent', '--json'], dir);
    assert.equal(agentOut.status, 0, agentOut.stderr);
    const a = JSON.parse(agentOut.stdout) as RegisterUpdateRequest & { kind: string; keyId: string };
    assert.equal(a.url, '/api/v1/osquery/agent-binary/windows/amd64/1.2.0/mimir-agent');
    const { kind, keyId, ...agentForm } = a;
    assert.equal(kind, 'agent');
    const agentRow = await register(admin, 'agent', { version: agentForm.version, os: agentForm.os, arch: agentForm.arch, url: agentForm.url, sha256: agentForm.sha256, signature: agentForm.signature, timestamp: agentForm.timestamp });
    assert.equal(agentRow.keyId, keyId);
  });

  void it('should refuse bad arguments with exit status 2', (t) => {
    const dir = tempDir(t, 'mimir-sign-');
    for (const args of [
      ['sign', '--version', '5.12.1', '--os', 'macos', '--arch', 'amd64', '--sha256', 'a'.repeat(64)],
      ['sign', '--version', '5.12.1', '--os', 'linux', '--arch', 'amd64', '--sha256', 'abc'],
      ['sign', '--version', '5.12.1', '--os', 'linux', '--arch', 'amd64', '--sha256', 'a'.repeat(64), '--timestamp', 'yesterday'],
      ['sign', '--version', '5.12.1', '--os', 'linux', '--arch', 'amd64', '--sha256', 'a'.repeat(64)],
      ['frobnicate'],
    ]) {
      const r = run(args, dir);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, /^sign-osquery-manifest\.sh: /);
    }
  });
});
