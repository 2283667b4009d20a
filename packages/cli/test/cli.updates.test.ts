/**
 * `mimir-cli osquery|agent …` (issue #5, seed 000) against a real server with a configured Ed25519
 * key: upload → register → approve → rollout → the delete guard ("Set rollout to 0% before
 * deleting.") → rollout 0 → delete, with the seed's texts; presets per kind; --from-json (the
 * signing script's output); and bad input that changes nothing.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { UpdateArtifact, UpdateKind } from '@mimir/api-contract';
import { tempDir } from '../../server/test/helper.js';
import { canonicalManifest } from '../../server/src/services/updates/manifest.js';
import { json, setup } from './cli-helper.js';

function signer(): { priv: KeyObject; hex: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { priv: privateKey, hex: Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex') };
}

/** What the CI signing step prints for one build (docs/updates.md). */
function signed(priv: KeyObject, kind: UpdateKind, version: string, os: string, arch: string, sha256: string) {
  const url = kind === 'osquery' ? `/api/v1/osquery/binary/${os}/${arch}/${version}/osqueryd` : `/api/v1/osquery/agent-binary/${os}/${arch}/${version}/mimir-agent`;
  const m = { kind, version, os, arch, url, sha256, timestamp: '2026-04-04T12:00:00Z' };
  return { ...m, signature: sign(null, canonicalManifest(m), priv).toString('hex') };
}

describe('mimir-cli osquery|agent', () => {
  it('should upload, register, approve, roll out, guard delete, pause and delete with the seed\'s texts', async (t) => {
    const key = signer();
    const { srv, cli } = await setup(t, { overrides: { updatePublicKeys: [key.hex] } });
    const dir = tempDir(t);
    const bin = join(dir, 'osqueryd');
    const bytes = Buffer.from('osqueryd 5.12.1 build for linux/amd64\n'.repeat(1000));
    writeFileSync(bin, bytes);
    const sha = createHash('sha256').update(bytes).digest('hex');

    const empty = await cli.run(['osquery', 'list']);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stderr, /No osquery versions registered\. Register a signed version to enable osquery auto-updates across the fleet\./);

    const up = await cli.run(['osquery', 'upload', bin, '5.12.1', '--os', 'linux', '--arch', 'amd64', '--json']);
    assert.equal(up.code, 0, up.stderr);
    const uploaded = json<{ binary: { sha256: string; url: string; size: number } }>(up);
    assert.equal(uploaded.binary.sha256, sha);
    assert.equal(uploaded.binary.size, bytes.length);

    const s = signed(key.priv, 'osquery', '5.12.1', 'linux', 'amd64', sha);
    assert.equal(uploaded.binary.url, s.url);
    const reg = await cli.run(['osquery', 'register', '5.12.1', '--os', 'linux', '--arch', 'amd64', '--sha256', sha, '--signature', s.signature, '--timestamp', s.timestamp]);
    assert.equal(reg.code, 0, reg.stderr);
    assert.match(reg.stderr, /osquery 5\.12\.1 \(linux\/amd64\) registered/);

    const pending = await cli.run(['osquery', 'rollout', '5.12.1', '5']);
    assert.equal(pending.code, 5);
    assert.match(pending.stderr, /pending: approve it before rollout/);

    const list = await cli.run(['osquery', 'list']);
    assert.match(list.stdout, /5\.12\.1\s+linux\/amd64\s+\S+ \S+\s+Pending\s+—\s+stored/);
    assert.match(list.stderr, /Versions must be approved before rollout\./);

    const ok = await cli.run(['osquery', 'approve', '5.12.1']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /osquery 5\.12\.1 \(linux\/amd64\) approved/);

    const notPreset = await cli.run(['osquery', 'rollout', '5.12.1', '50']);
    assert.equal(notPreset.code, 2);
    assert.match(notPreset.stderr, /rollout must be one of 0%, 1%, 5%, 25%, 100% for osquery/);

    const five = await cli.run(['osquery', 'rollout', '5.12.1', '5%']);
    assert.equal(five.code, 0, five.stderr);
    assert.match(five.stderr, /Rollout set to 5%/);
    const again = await cli.run(['osquery', 'rollout', '5.12.1', '5', '--json']);
    assert.equal(again.code, 0);
    assert.equal(json<{ changed: boolean }>(again).changed, false);
    assert.match(again.stderr, /Rollout is already 5%: nothing changed/);
    assert.equal((await srv.app.store.audit.list({ limit: 100, action: 'update.rollout' })).length, 1, 'setting the same value is not audited');

    const guarded = await cli.run(['osquery', 'delete', '5.12.1', '--yes']);
    assert.equal(guarded.code, 5);
    assert.match(guarded.stderr, /Set rollout to 0% before deleting\./);

    const progress = json<{ rollout: number; hostsTotal: number }>(await cli.run(['osquery', 'progress', '5.12.1', '--platform', 'linux/amd64', '--json']));
    assert.equal(progress.rollout, 5);

    assert.equal((await cli.run(['osquery', 'rollout', '5.12.1', '0'])).code, 0);
    const noTty = await cli.run(['osquery', 'delete', '5.12.1']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /pass --yes to confirm/);
    const del = await cli.run(['osquery', 'delete', '5.12.1', '--yes']);
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stderr, /osquery 5\.12\.1 \(linux\/amd64\) deleted/);
    assert.deepEqual(json<UpdateArtifact[]>(await cli.run(['osquery', 'list', '--json'])), []);
    const actions = (await srv.app.store.audit.list({ limit: 100 })).map((e) => e.action).filter((a) => a.startsWith('update.'));
    assert.deepEqual(actions.sort(), ['update.approve', 'update.binary_upload', 'update.delete', 'update.register', 'update.rollout', 'update.rollout'].sort());
  });

  it('should register agent builds from the signing script\'s JSON, use the agent presets, and pick rows by platform', async (t) => {
    const key = signer();
    const { cli } = await setup(t, { overrides: { updatePublicKeys: [key.hex] } });
    const dir = tempDir(t);
    const linux = signed(key.priv, 'agent', '1.2.0', 'linux', 'amd64', 'a'.repeat(64));
    const mac = signed(key.priv, 'agent', '1.2.0', 'darwin', 'arm64', 'b'.repeat(64));
    writeFileSync(join(dir, 'linux.json'), JSON.stringify({ ...linux, keyId: 'x', manifest: '{}' }));
    assert.equal((await cli.run(['agent', 'register', '--from-json', join(dir, 'linux.json')])).code, 0);
    const piped = await cli.run(['agent', 'register', '--from-json', '-'], { input: JSON.stringify(mac) });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stderr, /agent 1\.2\.0 \(darwin\/arm64\) registered/);

    const wrongPanel = await cli.run(['osquery', 'register', '--from-json', join(dir, 'linux.json')]);
    assert.equal(wrongPanel.code, 2);
    assert.match(wrongPanel.stderr, /was signed for agent, not osquery/);

    const ambiguous = await cli.run(['agent', 'approve', '1.2.0']);
    assert.equal(ambiguous.code, 2);
    assert.match(ambiguous.stderr, /registered for .*linux\/amd64.*: add --platform os\/arch/);
    assert.equal((await cli.run(['agent', 'approve', '1.2.0', '--platform', 'darwin/arm64'])).code, 0);
    const osqueryPreset = await cli.run(['agent', 'rollout', '1.2.0', '5', '--platform', 'darwin/arm64']);
    assert.equal(osqueryPreset.code, 2);
    assert.match(osqueryPreset.stderr, /one of 0%, 10%, 25%, 50%, 100% for agent/);
    assert.equal((await cli.run(['agent', 'rollout', '1.2.0', '50', '--platform', 'darwin/arm64'])).code, 0);
    const rows = json<UpdateArtifact[]>(await cli.run(['agent', 'list', '--json']));
    assert.deepEqual(rows.map((r) => [r.platform, r.status, r.rollout]).sort(), [['darwin/arm64', 'approved', 50], ['linux/amd64', 'pending', 0]]);
  });

  it('should report the server\'s per-field messages and change nothing on bad input', async (t) => {
    const key = signer();
    const other = signer();
    const { cli } = await setup(t, { overrides: { updatePublicKeys: [key.hex] } });
    const missing = await cli.run(['osquery', 'register', '5.12.1', '--os', 'linux']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing --arch, --sha256, --signature, --timestamp/);

    const bad = await cli.run(['osquery', 'register', '5.12.1', '--os', 'plan9', '--arch', 'amd64', '--sha256', 'xyz', '--signature', 'abc', '--timestamp', 'yesterday']);
    assert.equal(bad.code, 5);
    assert.match(bad.stderr, /Registration failed/);
    assert.match(bad.stderr, /os: must be one of linux, darwin, windows, freebsd/);
    assert.match(bad.stderr, /sha256: must be exactly 64 hex characters/);

    // A signature from a key the server does not trust: the seed's "usual culprit" message.
    const s = signed(other.priv, 'osquery', '5.12.1', 'linux', 'amd64', 'c'.repeat(64));
    const untrusted = await cli.run(['osquery', 'register', '5.12.1', '--os', 'linux', '--arch', 'amd64', '--sha256', s.sha256, '--signature', s.signature, '--timestamp', s.timestamp]);
    assert.equal(untrusted.code, 5);
    assert.match(untrusted.stderr, /Re-paste both the SHA256 and the signature from the same signing run/);
    assert.deepEqual(json<UpdateArtifact[]>(await cli.run(['osquery', 'list', '--json'])), []);

    const noFile = await cli.run(['osquery', 'upload', '/nonexistent/osqueryd', '5.12.1', '--os', 'linux', '--arch', 'amd64']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /cannot read/);
    const notFound = await cli.run(['osquery', 'approve', '9.9.9']);
    assert.equal(notFound.code, 4);
    assert.match(notFound.stderr, /no osquery version "9\.9\.9" is registered/);
  });
});
