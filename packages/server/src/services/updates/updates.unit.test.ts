/**
 * Signed updates, pure parts (seed 000, issue #5): the canonical manifest and Ed25519 checks, key
 * parsing, deterministic cohorts over 100k host ids, the serving decision (pause, lower, delete,
 * rollback), field validation messages, and the binary store's cap.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { ROLLOUT_PRESETS } from '@mimir/api-contract';
import { DomainError, PayloadTooLargeError, ValidationError } from '../../errors.js';
import { BinaryStore, binaryUrl, parseBinaryUrl, versionDir } from './binary-store.js';
import { chooseTarget, cohortOf, inCohort, type ServingCandidate } from './cohort.js';
import { canonicalManifest, loadTrustedKeys, parsePublicKey, verifyManifest, type ManifestFields } from './manifest.js';
import { checkRegisterInput } from './validate.js';
import { updateArch } from './updates.service.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  return { privateKey, publicKey, hex: raw.toString('hex'), base64: raw.toString('base64'), pem: publicKey.export({ type: 'spki', format: 'pem' }) };
}

function signHex(privateKey: KeyObject, m: ManifestFields): string {
  return sign(null, canonicalManifest(m), privateKey).toString('hex');
}

function tmp(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'mimir-updates-unit-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const M: ManifestFields = {
  kind: 'osquery',
  version: '5.12.1',
  os: 'linux',
  arch: 'amd64',
  url: '/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd',
  sha256: 'AB'.repeat(32),
  timestamp: '2026-04-04T12:00:00Z',
};

void describe('canonical manifest', () => {
  void it('should be sorted-key JSON without whitespace with a lower-case sha256', () => {
    assert.equal(
      canonicalManifest(M).toString('utf8'),
      '{"arch":"amd64","kind":"osquery","os":"linux","sha256":"' + 'ab'.repeat(32) + '","timestamp":"2026-04-04T12:00:00Z","url":"/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd","version":"5.12.1"}',
    );
  });

  void it('should keep free-text versions as typed, escaping only what JSON must (RFC 8785 strings)', () => {
    const bytes = canonicalManifest({ ...M, version: 'é "5" \\ \u0001' });
    assert.equal(bytes.toString('utf8').split('"version":')[1], '"é \\"5\\" \\\\ \\u0001"}');
    // UTF-8, not \u escapes, for non-ASCII.
    assert.ok(bytes.includes(Buffer.from('é', 'utf8')));
  });
});

void describe('manifest signature checks', () => {
  const k = keyPair();
  const keys = [parsePublicKey(k.hex)];
  const good = signHex(k.privateKey, M);

  void it('should accept a good signature, in either hex case', () => {
    assert.equal(verifyManifest(M, good, keys)?.id, keys[0]?.id);
    assert.ok(verifyManifest(M, good.toUpperCase(), keys));
  });

  void it('should refuse truncated, empty, base64 and raw-byte signatures', () => {
    assert.equal(verifyManifest(M, good.slice(0, 126), keys), undefined);
    assert.equal(verifyManifest(M, '', keys), undefined);
    assert.equal(verifyManifest(M, Buffer.from(good, 'hex').toString('base64'), keys), undefined);
    assert.equal(verifyManifest(M, Buffer.from(good, 'hex').toString('latin1'), keys), undefined);
    assert.equal(verifyManifest(M, `${good}00`, keys), undefined);
  });

  void it('should refuse a signature by another key', () => {
    const other = keyPair();
    assert.equal(verifyManifest(M, signHex(other.privateKey, M), keys), undefined);
  });

  void it('should refuse when any signed value changed after signing', () => {
    for (const change of [
      { sha256: 'cd'.repeat(32) },
      { url: '/api/v1/osquery/binary/linux/amd64/5.12.2/osqueryd' },
      { timestamp: '2026-04-04T12:00:01Z' },
      { version: '5.12.2' },
      { os: 'darwin' },
      { arch: 'arm64' },
      { kind: 'agent' },
    ]) {
      assert.equal(verifyManifest({ ...M, ...change }, good, keys), undefined, JSON.stringify(change));
    }
  });

  void it('should accept either of two configured keys (rotation)', () => {
    const next = keyPair();
    const both = loadTrustedKeys([k.hex, next.base64]);
    assert.equal(both.length, 2);
    assert.equal(verifyManifest(M, good, both)?.id, both[0]?.id);
    assert.equal(verifyManifest(M, signHex(next.privateKey, M), both)?.id, both[1]?.id);
  });
});

void describe('MIMIR_UPDATE_PUBLIC_KEYS entries', () => {
  void it('should read hex, base64, base64url and PEM files to the same key id', (t) => {
    const k = keyPair();
    const dir = tmp(t);
    writeFileSync(join(dir, 'signing.pub.pem'), k.pem);
    const ids = [
      parsePublicKey(k.hex).id,
      parsePublicKey(k.base64).id,
      parsePublicKey(Buffer.from(k.hex, 'hex').toString('base64url')).id,
      parsePublicKey('signing.pub.pem', dir).id,
      parsePublicKey(join(dir, 'signing.pub.pem')).id,
    ];
    assert.equal(new Set(ids).size, 1);
    assert.match(ids[0] ?? '', /^[0-9a-f]{16}$/);
  });

  void it('should refuse private keys, non-Ed25519 keys and junk, reporting every bad entry at once', (t) => {
    const dir = tmp(t);
    const k = keyPair();
    writeFileSync(join(dir, 'private.pem'), k.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    writeFileSync(join(dir, 'rsa.pub.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    assert.throws(() => parsePublicKey('private.pem', dir), /private key/);
    assert.throws(() => parsePublicKey('rsa.pub.pem', dir), /rsa key/);
    assert.throws(() => parsePublicKey('nope.pem', dir), /neither a raw Ed25519 key/);
    assert.throws(() => parsePublicKey('abcd'), /neither a raw Ed25519 key/);
    assert.throws(
      () => loadTrustedKeys(['private.pem', k.hex, 'nope.pem'], dir),
      (err: Error) => err.message.split('\n').length === 2,
    );
    assert.deepEqual(loadTrustedKeys([]), []);
    assert.equal(loadTrustedKeys([k.hex, k.base64]).length, 1, 'the same key twice counts once');
  });
});

void describe('deterministic cohorts', () => {
  const N = 100_000;
  const ids = Array.from({ length: N }, (_, i) => i + 1);

  void it('should give the same number every time, in 0–99', () => {
    for (const id of [1, 2, 99_999]) {
      const n = cohortOf(id, '5.12.1');
      assert.equal(cohortOf(id, '5.12.1'), n);
      assert.ok(Number.isInteger(n) && n >= 0 && n < 100);
    }
  });

  void it('should put each preset share of 100k hosts in the cohort within ±1 point, growing monotonically', () => {
    const numbers = ids.map((id) => cohortOf(id, '5.12.1'));
    for (const presets of [ROLLOUT_PRESETS.osquery, ROLLOUT_PRESETS.agent]) {
      let previous = new Set<number>();
      for (const p of presets) {
        const members = new Set(ids.filter((_, i) => (numbers[i] ?? 100) < p));
        const share = (members.size / N) * 100;
        assert.ok(Math.abs(share - p) <= 1, `preset ${p}%: ${share.toFixed(2)}%`);
        for (const id of previous) assert.ok(members.has(id), `raising to ${p}% keeps host ${id}`);
        previous = members;
      }
    }
    assert.equal(ids.filter((id) => inCohort(id, '5.12.1', 0)).length, 0, '0% pauses everyone');
    assert.equal(ids.filter((id) => inCohort(id, '5.12.1', 100)).length, N, '100% takes everyone');
  });

  void it('should give a host independent numbers for different versions', () => {
    const a = ids.map((id) => cohortOf(id, '5.11.4'));
    const b = ids.map((id) => cohortOf(id, '5.12.1'));
    // Hosts in the "fast 5%" of 5.11.4 are spread over 5.12.1 like everyone else.
    const fastA = ids.filter((_, i) => (a[i] ?? 100) < 5);
    const alsoFastB = fastA.filter((id) => cohortOf(id, '5.12.1') < 5).length;
    assert.ok(Math.abs((alsoFastB / fastA.length) * 100 - 5) <= 1, `${alsoFastB}/${fastA.length}`);
    // Joint share at 25%/25% ≈ 6.25%, and the correlation of the numbers is near zero.
    const both = ids.filter((_, i) => (a[i] ?? 100) < 25 && (b[i] ?? 100) < 25).length;
    assert.ok(Math.abs((both / N) * 100 - 6.25) <= 1, `joint ${both}`);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const ma = mean(a);
    const mb = mean(b);
    let cov = 0;
    let va = 0;
    let vb = 0;
    for (let i = 0; i < N; i++) {
      const da = (a[i] ?? 0) - ma;
      const db = (b[i] ?? 0) - mb;
      cov += da * db;
      va += da * da;
      vb += db * db;
    }
    assert.ok(Math.abs(cov / Math.sqrt(va * vb)) < 0.02);
    assert.ok(a.filter((x, i) => x === b[i]).length < N * 0.02, 'numbers differ across versions');
  });
});

void describe('what a host is told', () => {
  /** A host id whose cohort number for `version` is inside [lo, hi). */
  function hostWith(version: string, lo: number, hi: number, from = 1): number {
    for (let id = from; ; id++) {
      const n = cohortOf(id, version);
      if (n >= lo && n < hi) return id;
    }
  }
  const row = (version: string, rollout: number, approvedAt: number): ServingCandidate => ({ version, rollout, approvedAt });

  void it('should serve the most recently approved non-paused row whose cohort includes the host, else nothing', () => {
    const rows = [row('5.12.1', 25, 200), row('5.11.4', 100, 100)];
    const inNew = hostWith('5.12.1', 0, 25);
    const outNew = hostWith('5.12.1', 25, 100);
    assert.equal(chooseTarget(rows, inNew, undefined)?.version, '5.12.1');
    assert.equal(chooseTarget(rows, outNew, undefined)?.version, '5.11.4');
    assert.equal(chooseTarget([row('5.12.1', 25, 200)], outNew, undefined), undefined, 'outside the cohort: stay');
    assert.equal(chooseTarget([row('5.12.1', 0, 200)], inNew, undefined), undefined, 'paused: stay');
    assert.equal(chooseTarget([], inNew, undefined), undefined);
  });

  void it('should never send a host back when its row is paused, lowered or deleted', () => {
    const host = hostWith('5.12.1', 10, 25);
    // The host runs 5.12.1 (approved at 200); 5.11.4 (approved at 100) is still at 100%.
    assert.equal(chooseTarget([row('5.12.1', 0, 200), row('5.11.4', 100, 100)], host, 200), undefined, 'paused');
    assert.equal(chooseTarget([row('5.12.1', 5, 200), row('5.11.4', 100, 100)], host, 200), undefined, 'lowered below its number');
    assert.equal(chooseTarget([row('5.11.4', 100, 100)], host, 200), undefined, 'deleted (its approval is remembered)');
    // A host on 5.11.4 outside the new cohort is told to stay on 5.11.4, not moved.
    const other = hostWith('5.12.1', 25, 100);
    assert.equal(chooseTarget([row('5.12.1', 25, 200), row('5.11.4', 100, 100)], other, 100)?.version, '5.11.4');
  });

  void it('should roll back only when an admin approves the older manifest again', () => {
    const host = hostWith('5.12.1', 0, 5);
    const rows = [row('5.11.4', 100, 300), row('5.12.1', 0, 200)];
    assert.equal(chooseTarget(rows, host, 200)?.version, '5.11.4');
  });

  void it('should move hosts on unmanaged versions onto the newest row they qualify for', () => {
    const host = hostWith('5.12.1', 50, 100);
    assert.equal(chooseTarget([row('5.12.1', 25, 200), row('5.11.4', 100, 100)], host, undefined)?.version, '5.11.4');
  });
});

void describe('register form checks', () => {
  const valid = { version: '5.12.1', os: 'linux', arch: 'amd64', url: '/api/v1/x', sha256: 'a'.repeat(64), signature: 'b'.repeat(128), timestamp: '2026-04-04T12:00:00Z' };
  const problems = (input: Partial<typeof valid>) => {
    try {
      checkRegisterInput('osquery', { ...valid, ...input });
      return [];
    } catch (err) {
      assert.ok(err instanceof ValidationError);
      return (err as DomainError & { details: Array<{ path: string; message: string }> }).details;
    }
  };

  void it('should pass a valid form, lower-casing the hex and keeping the version as typed', () => {
    const m = checkRegisterInput('osquery', { ...valid, sha256: 'A'.repeat(64), version: '5.12.1-rc1+build.7' });
    assert.equal(m.sha256, 'a'.repeat(64));
    assert.equal(m.version, '5.12.1-rc1+build.7');
  });

  void it('should give every bad field its own message, all at once', () => {
    const d = problems({ version: '', os: 'macos', arch: 'x86_64', url: 'https://x/api/', sha256: 'zz', signature: '', timestamp: '2026-04-04 12:00:00' });
    assert.deepEqual(d.map((i) => i.path), ['/version', '/os', '/arch', '/url', '/sha256', '/signature', '/timestamp']);
    assert.equal(d.find((i) => i.path === '/sha256')?.message, 'must be exactly 64 hex characters');
    assert.equal(d.find((i) => i.path === '/url')?.message, 'must start with /api/');
  });

  void it('should recognise pasted base64 and other bad timestamps and URLs', () => {
    assert.match(problems({ signature: Buffer.alloc(64, 7).toString('base64') })[0]?.message ?? '', /looks like base64/);
    assert.match(problems({ signature: 'b'.repeat(127) })[0]?.message ?? '', /exactly 128 hex/);
    for (const timestamp of ['2026-02-30T00:00:00Z', '2026-04-04T12:00:00+02:00', '2026-04-04t12:00:00z', '2026-04-04T25:00:00Z', '1712232000']) {
      assert.equal(problems({ timestamp })[0]?.path, '/timestamp', timestamp);
    }
    assert.equal(problems({ timestamp: '2026-04-04T12:00:00.123Z' }).length, 0);
    for (const url of ['/api/../etc/passwd', '/api/v1/a b', '/api/v1/\\x', 'api/v1/x', '/apix']) assert.equal(problems({ url })[0]?.path, '/url', url);
    assert.equal(problems({ version: ' 5.12.1' })[0]?.path, '/version');
    assert.equal(problems({ version: '5.12.1\n' })[0]?.path, '/version');
  });
});

void describe('binary paths and store', () => {
  void it('should build and parse download URLs, also for odd version strings', () => {
    assert.equal(binaryUrl('osquery', 'linux', 'amd64', '5.12.1'), '/api/v1/osquery/binary/linux/amd64/5.12.1/osqueryd');
    assert.equal(binaryUrl('agent', 'darwin', 'arm64', '1.0 beta/2'), '/api/v1/osquery/agent-binary/darwin/arm64/1.0%20beta%2F2/mimir-agent');
    assert.deepEqual(parseBinaryUrl('/api/v1/osquery/agent-binary/darwin/arm64/1.0%20beta%2F2/mimir-agent'), { kind: 'agent', os: 'darwin', arch: 'arm64', version: '1.0 beta/2' });
    assert.equal(parseBinaryUrl('/api/v1/osquery/binary/linux/amd64/5.12.1/mimir-agent'), undefined);
    assert.equal(parseBinaryUrl('/api/v1/elsewhere/osqueryd'), undefined);
  });

  void it('should keep every version inside its directory', () => {
    assert.equal(versionDir('5.12.1'), '5.12.1');
    for (const v of ['..', '.', '../../etc', 'a/b', 'x\\y', ' 5', 'é']) {
      assert.match(versionDir(v), /^~[A-Za-z0-9_-]+$/, v);
    }
  });

  void it('should stream to a temp file with SHA-256, refuse past the cap and leave nothing behind', async (t) => {
    const dir = tmp(t);
    const store = new BinaryStore(dir, 1000);
    const ok = await store.stage(Readable.from([Buffer.alloc(600, 1), Buffer.alloc(400, 2)]));
    assert.equal(ok.size, 1000);
    assert.match(ok.sha256, /^[0-9a-f]{64}$/);
    await store.commit(ok, store.relativePath('osquery', 'linux', 'amd64', '5.12.1'));
    assert.ok(existsSync(join(dir, 'binaries', 'osquery', 'linux', 'amd64', '5.12.1', 'osqueryd')));
    await assert.rejects(store.stage(Readable.from([Buffer.alloc(600), Buffer.alloc(401)])), PayloadTooLargeError);
    await assert.rejects(store.stage(Readable.from([Buffer.alloc(10)]), () => true), PayloadTooLargeError);
    assert.deepEqual(readdirSync(join(dir, 'binaries', '.tmp')), []);
  });

  void it('should map host architectures to update vocabulary', () => {
    assert.equal(updateArch('x86_64'), 'amd64');
    assert.equal(updateArch('64-bit'), 'amd64');
    assert.equal(updateArch('aarch64'), 'arm64');
    assert.equal(updateArch('ARM 64-bit Processor'), 'arm64');
  });
});
