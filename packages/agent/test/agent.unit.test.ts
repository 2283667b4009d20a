/**
 * The agent's checks on their own: manifest signatures (hex-decoded, seed 000), freshness, version
 * order, the config file, the versioned tree, the updater's refusal rules and the installer's
 * refusal of bad input (nothing written).
 */
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../../server/test/helper.js';
import { ConfigError, parseConfig } from '../src/config.js';
import { hardwareUuid } from '../src/identity.js';
import { install } from '../src/install.js';
import { canonicalManifest, compareVersions, freshnessProblem, loadPublicKey, verifySignature, type ManifestFields } from '../src/manifest.js';
import { currentVersion, installBuild, switchCurrent, versionDir } from '../src/tree.js';
import { Updater } from '../src/updater.js';
import { canonicalManifest as serverCanonical } from '../../server/src/services/updates/manifest.js';
import { makeSigningKey } from './harness.js';

const M: ManifestFields = {
  kind: 'osquery', version: '5.12.1', os: 'linux', arch: 'amd64',
  url: '/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd', sha256: 'e0d8b91a2a21e2db8536f5b0caa31d815ccee376cc6e98c04bad3b867a9d71c4', timestamp: '2026-04-04T12:00:00Z',
};

describe('manifest verification', () => {
  const key = makeSigningKey();
  const pinned = [loadPublicKey(key.publicHex)];
  const sig = sign(null, canonicalManifest(M), key.privateKey);
  const hex = sig.toString('hex');

  it('should build the documented canonical bytes', () => {
    assert.equal(canonicalManifest(M).toString('utf8'),
      '{"arch":"amd64","kind":"osquery","os":"linux","sha256":"e0d8b91a2a21e2db8536f5b0caa31d815ccee376cc6e98c04bad3b867a9d71c4","timestamp":"2026-04-04T12:00:00Z","url":"/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd","version":"5.12.1"}');
  });

  it('should build the same bytes as the server for any values (escaping included)', () => {
    for (const version of ['5.12.1', 'v"1\\2', 'ünï/cødé', 'tab\there', '\u0001\u001f']) {
      const m = { ...M, version, url: `/api/x/${version}`, sha256: M.sha256.toUpperCase() };
      assert.deepEqual(canonicalManifest(m), serverCanonical(m), version);
    }
  });

  it('should accept the hex signature in either case', () => {
    assert.equal(verifySignature(M, hex, pinned), true);
    assert.equal(verifySignature(M, hex.toUpperCase(), pinned), true);
  });

  it('should reject empty, truncated, base64, padded and raw values', () => {
    for (const bad of ['', hex.slice(0, 126), hex.slice(0, 127), sig.toString('base64'), `${hex}00`, ` ${hex}`, sig.toString('latin1')]) {
      assert.equal(verifySignature(M, bad, pinned), false, JSON.stringify(bad.slice(0, 20)));
    }
  });

  it('should reject another key and any changed field', () => {
    assert.equal(verifySignature(M, hex, [loadPublicKey(makeSigningKey().publicHex)]), false);
    for (const change of [{ sha256: 'f'.repeat(64) }, { version: '5.12.2' }, { url: '/api/v1/other' }, { timestamp: '2026-04-04T12:00:01Z' }, { os: 'darwin' }, { arch: 'arm64' }, { kind: 'agent' as const }]) {
      assert.equal(verifySignature({ ...M, ...change }, hex, pinned), false, JSON.stringify(change));
    }
  });

  it('should load keys as hex, base64 and PEM, and refuse others', (ctx) => {
    const t = tempDir(ctx);
    const raw = Buffer.from(key.publicHex, 'hex');
    assert.equal(verifySignature(M, hex, [loadPublicKey(raw.toString('base64'))]), true);
    const pem = join(t, 'k.pem');
    writeFileSync(pem, loadPublicKey(key.publicHex).export({ type: 'spki', format: 'pem' }));
    assert.equal(verifySignature(M, hex, [loadPublicKey(pem)]), true);
    const priv = join(t, 'p.pem');
    writeFileSync(priv, key.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    assert.throws(() => loadPublicKey(priv), /private key/);
    assert.throws(() => loadPublicKey(join(t, 'missing.pem')));
  });
});

describe('freshness and version order', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  it('should accept a recent RFC 3339 UTC timestamp', () => {
    assert.equal(freshnessProblem('2026-05-31T12:00:00Z', now, 365), undefined);
  });
  it('should refuse future, ancient and malformed timestamps', () => {
    assert.match(freshnessProblem('2026-06-01T01:00:00Z', now, 365) ?? '', /future/);
    assert.match(freshnessProblem('2024-01-01T00:00:00Z', now, 365) ?? '', /older than 365 days/);
    assert.equal(freshnessProblem('2024-01-01T00:00:00Z', now, 0), undefined, '0 = no age limit');
    for (const bad of ['', '2026-05-31 12:00:00Z', '2026-05-31T12:00:00+02:00', 'yesterday']) assert.match(freshnessProblem(bad, now, 365) ?? '', /RFC 3339/);
  });
  it('should order dotted versions numerically', () => {
    assert.equal(compareVersions('5.12.1', '5.9.0'), 1);
    assert.equal(compareVersions('5.9.0', '5.12.1'), -1);
    assert.equal(compareVersions('5.12.1', '5.12.1'), 0);
    assert.equal(compareVersions('5.12', '5.12.1'), -1);
    assert.equal(compareVersions('1.0.0-rc1', '1.0.0-rc2'), -1);
  });
});

describe('config', () => {
  const base = { root: '/opt/m', serverUrl: 'https://mimir.example.com:8080', enrollSecretPath: '/opt/m/etc/s', caPath: '/opt/m/etc/ca.pem', updatePublicKeys: ['a'.repeat(64)] };
  it('should fill defaults (4 h poll, 24 h stagger, auto-update on)', () => {
    const c = parseConfig(base);
    assert.equal(c.pollSeconds, 14_400);
    assert.equal(c.staggerSeconds, 86_400);
    assert.equal(c.osqueryAutoUpdate, true);
  });
  it('should list every problem at once', () => {
    try {
      parseConfig({ ...base, serverUrl: 'http://x/path', root: 'relative', pollSeconds: -1, osqueryAutoUpdate: 'yes', updatePublicKeys: [], typo: 1, osquery: { distributedInterval: 0, nope: 1 } });
      assert.fail('expected ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      const text = e.problems.join('\n');
      for (const k of ['serverUrl', 'root', 'pollSeconds', 'osqueryAutoUpdate', 'updatePublicKeys', 'typo', 'osquery.distributedInterval', 'osquery.nope']) assert.match(text, new RegExp(k.replace('.', '\\.')));
    }
  });
});

describe('identity', () => {
  it('should prefer the override, then DMI, then the machine id, skipping placeholders', () => {
    assert.equal(hardwareUuid(' abc ', () => undefined), 'ABC');
    const dmi = '4c4c4544-0042-3610-8056-b4c04f4a4e32';
    assert.equal(hardwareUuid('', (p) => (p.includes('dmi') ? dmi : undefined)), dmi.toUpperCase());
    const mid = '0123456789abcdef0123456789abcdef';
    assert.equal(hardwareUuid('', (p) => (p.includes('dmi') ? '00000000-0000-0000-0000-000000000000' : mid)), '01234567-89AB-CDEF-0123-456789ABCDEF');
    assert.throws(() => hardwareUuid('', () => undefined), /hardware UUID/);
  });
});

describe('versioned tree', () => {
  it('should install into version directories and switch current atomically', async (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'src');
    writeFileSync(src, '#!/bin/sh\n');
    const base = join(dir, 'osquery');
    assert.equal(await currentVersion(base), undefined);
    await installBuild(base, '5.12.1', src, 'osqueryd');
    await installBuild(base, '5.13.0', src, 'osqueryd');
    await switchCurrent(base, '5.12.1');
    assert.equal(await currentVersion(base), '5.12.1');
    await switchCurrent(base, '5.13.0');
    assert.equal(readlinkSync(join(base, 'current')), '5.13.0');
    await assert.rejects(switchCurrent(base, '9.9.9'), /not installed/);
    assert.equal(await currentVersion(base), '5.13.0', 'a failed switch changes nothing');
    assert.deepEqual(readdirSync(base).filter((n) => n.startsWith('.')), [], 'no temporary leftovers');
  });
  it('should keep odd versions inside the tree', () => {
    for (const v of ['..', '../../etc', 'a/b', 'current', '.hidden', '5.1 beta']) {
      const d = versionDir(v);
      assert.ok(!d.includes('/') && d !== '..' && d !== 'current' && !d.startsWith('.'), `${v} → ${d}`);
    }
    assert.equal(versionDir('5.12.1'), '5.12.1');
  });
});

describe('update refusal rules', () => {
  const key = makeSigningKey();
  const mk = (cfg: Record<string, unknown> = {}) => new Updater({
    cfg: parseConfig({ root: '/r', serverUrl: 'https://s', enrollSecretPath: '/r/s', caPath: '/r/c', updatePublicKeys: [key.publicHex], ...cfg }),
    paths: {} as never, client: {} as never, keys: [loadPublicKey(key.publicHex)], log: {} as never, supervisor: {} as never,
    os: 'linux', arch: 'amd64', agentVersion: '0.1.0', requestReexec: () => undefined, signal: new AbortController().signal,
  });
  const target = (version: string, rollback = false, over: Partial<ManifestFields> = {}) => {
    const ts = `${new Date().toISOString().slice(0, 19)}Z`;
    const m: ManifestFields = { ...M, version, url: `/api/v1/osquery/binary/linux/amd64/${version}/osqueryd`, timestamp: ts, ...over };
    return { version, url: m.url, sha256: m.sha256, timestamp: m.timestamp, signature: sign(null, canonicalManifest(m), key.privateKey).toString('hex'), rollback };
  };
  it('should accept a newer signed build', () => {
    assert.equal(mk().checkTarget('osquery', target('5.13.0'), '5.12.1'), undefined);
  });
  it('should refuse a downgrade unless the server marks it a rollback', () => {
    assert.match(mk().checkTarget('osquery', target('5.11.0'), '5.12.1') ?? '', /not downgrading/);
    assert.equal(mk().checkTarget('osquery', target('5.11.0', true), '5.12.1'), undefined);
  });
  it('should refuse a manifest signed for another platform or kind', () => {
    assert.match(mk().checkTarget('osquery', target('5.13.0', false, { arch: 'arm64' }), '5.12.1') ?? '', /signature/);
    assert.match(mk().checkTarget('agent', target('5.13.0'), '0.1.0') ?? '', /signature/);
  });
  it('should refuse a non-API URL and a malformed SHA-256', () => {
    assert.match(mk().checkTarget('osquery', { ...target('5.13.0'), url: 'https://evil.example/osqueryd' }, '') ?? '', /not a Mimir \/api\/ path/);
    assert.match(mk().checkTarget('osquery', { ...target('5.13.0'), sha256: 'abc' }, '') ?? '', /SHA-256/);
  });
});

describe('install', () => {
  it('should refuse bad options all at once and write nothing', async (t) => {
    const dir = tempDir(t);
    const root = join(dir, 'root');
    mkdirSync(join(dir, 'x'));
    await assert.rejects(install({
      root, serverUrl: 'http://nope', caFile: join(dir, 'missing.pem'), updateKeys: ['not-a-key'], osquerydFile: join(dir, 'missing'), osqueryVersion: '5.12.1', unitDir: '',
    }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      const text = e.problems.join('\n');
      for (const m of ['enroll-secret', '--ca', '--update-key', 'serverUrl']) assert.match(text, new RegExp(m));
      return true;
    });
    assert.equal(existsSync(root), false);
  });
});
