/**
 * Settings → Osquery Updates and Agent Updates in real Chromium against a real server (seed 000):
 * the empty state, the Register version modal with its per-field messages (format rules caught
 * before anything is sent, the signature check answered by the server), Pending → Approve
 * ("Approving…") → 1% → Delete guarded by its tooltip → 0% → delete with the confirm text, the
 * toasts; the agent dial (0/10/25/50/100); and the panels hidden from operators and read-only users
 * (the API answers them 403). Manifests are signed here with a fresh Ed25519 key the server trusts.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { RegisterUpdateRequest, UpdateArtifact, UpdateKind, UpdateProgress } from '@mimir/api-contract';
import { canonicalManifest } from '../../packages/server/src/services/updates/manifest.js';
import { api, apiUser, type ApiCaller, type TestServer } from '../../packages/server/test/helper.js';
import { consoleServer, launchBrowser, openConsole, screenshot, setupAdmin, signIn, startHosts } from './harness.js';
import { settledScreenshot, toast, unexpected } from './settings-helpers.js';

interface Signer {
  priv: KeyObject;
  /** The raw public key in hex, as MIMIR_UPDATE_PUBLIC_KEYS accepts it. */
  hex: string;
}

function newSigner(): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { priv: privateKey, hex: Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url').toString('hex') };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The Register form values the CI signing step would print (docs/updates.md). */
function signed(s: Signer, kind: UpdateKind, version: string, os = 'linux', arch = 'amd64', shaOver?: string): RegisterUpdateRequest {
  const url = kind === 'osquery' ? `/api/v1/osquery/binary/${os}/${arch}/${version}/osqueryd` : `/api/v1/osquery/agent-binary/${os}/${arch}/${version}/mimir-agent`;
  const m = { kind, version, os, arch, url, sha256: shaOver ?? sha256(`${kind} ${version} ${os}/${arch}`), timestamp: '2026-04-04T12:00:00Z' };
  return { version, os, arch, url, sha256: m.sha256, timestamp: m.timestamp, signature: sign(null, canonicalManifest(m), s.priv).toString('hex') };
}

async function artifacts(admin: ApiCaller, kind: UpdateKind): Promise<UpdateArtifact[]> {
  return (await api<{ items: UpdateArtifact[] }>(admin, 'GET', `/api/v1/updates/${kind}/artifacts`, undefined, 200)).items;
}

async function publish(admin: ApiCaller, kind: UpdateKind, body: RegisterUpdateRequest, rollout: number): Promise<UpdateArtifact> {
  const { artifact } = await api<{ artifact: UpdateArtifact }>(admin, 'POST', `/api/v1/updates/${kind}/artifacts`, body, 201);
  await api(admin, 'POST', `/api/v1/updates/${kind}/artifacts/${artifact.id}/approve`, undefined, 200);
  if (rollout > 0) await api(admin, 'PUT', `/api/v1/updates/${kind}/artifacts/${artifact.id}/rollout`, { percent: rollout }, 200);
  return artifact;
}

async function fillRegister(page: Page, v: RegisterUpdateRequest): Promise<void> {
  const dialog = page.getByRole('dialog', { name: 'Register version' });
  await dialog.getByLabel('Version').fill(v.version);
  await dialog.getByLabel(/^OS/).click();
  await page.getByRole('option', { name: v.os, exact: true }).click();
  await dialog.getByLabel(/^Arch/).click();
  await page.getByRole('option', { name: v.arch, exact: true }).click();
  await dialog.getByLabel(/^Download URL/).fill(v.url);
  await dialog.getByLabel('SHA256').fill(v.sha256);
  await dialog.getByLabel(/^Manifest signature/).fill(v.signature);
  await dialog.getByLabel('Manifest timestamp').fill(v.timestamp);
}

/** The computed top border colour (this file is compiled without the DOM lib: the page's window is typed here). */
function borderColor(l: Locator): Promise<string> {
  return l.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { borderTopColor: string } }).getComputedStyle(el).borderTopColor);
}

async function startWithKey(t: Parameters<typeof consoleServer>[0]): Promise<{ srv: TestServer; signer: Signer }> {
  const signer = newSigner();
  const srv = await consoleServer(t, { overrides: { updatePublicKeys: [signer.hex] } });
  return { srv, signer };
}

describe('console: Osquery Updates (seed 000)', () => {
  it('registers, approves, rolls out 1%, guards delete, pauses and deletes, with the seed\'s texts and toasts', async (t) => {
    const { srv, signer } = await startWithKey(t);
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    await setupAdmin(page);
    // After setup: with an admin already present the console would offer sign-in instead.
    const admin = await apiUser(srv, 'admin');

    await page.getByRole('navigation').getByRole('link', { name: 'Osquery Updates' }).click();
    await page.getByRole('heading', { name: 'Osquery Updates' }).waitFor();
    await page.getByText('Registered versions').waitFor();
    await page.getByText('No osquery versions registered. Register a signed version to enable osquery auto-updates across the fleet.').waitFor();
    await page.getByText('Versions must be approved before rollout. Set rollout to 0% to pause a version. Cohort assignment is deterministic — the same host always gets the same answer for a given version and rollout %.').waitFor();
    await screenshot(page, 'settings-osquery-updates-empty');

    // --- the Register version modal: hints, footer, per-field messages
    await page.getByRole('button', { name: 'Register version' }).click();
    const dialog = page.getByRole('dialog', { name: 'Register version' });
    await dialog.waitFor();
    await dialog.getByText('(must start with /api/)').waitFor();
    await dialog.getByText('(Ed25519, hex)').waitFor();
    await dialog.getByText('Signature and timestamp are generated by the CI signing step (scripts/sign-osquery-manifest.sh). For direct binary uploads, use mimir-cli or POST multipart/form-data to the API.').waitFor();
    assert.equal(await dialog.getByLabel('SHA256').getAttribute('pattern'), '[a-fA-F0-9]{64}');

    const good = signed(signer, 'osquery', '5.12.1');
    await fillRegister(page, { ...good, url: 'https://downloads.example.com/osqueryd', sha256: 'not-a-sha', signature: good.signature.slice(0, 100) });
    await dialog.getByRole('button', { name: 'Register' }).click();
    await dialog.getByText('Download URL must start with /api/').waitFor();
    await dialog.getByText('SHA256 must be exactly 64 hex characters').waitFor();
    await dialog.getByText('Manifest signature must be exactly 128 hex characters (Ed25519, hex)').waitFor();
    assert.equal((await artifacts(admin, 'osquery')).length, 0, 'nothing registered while fields are wrong');
    await screenshot(page, 'settings-osquery-updates-register-errors');

    // Well-formed values the signature does not cover (a SHA from another build: the seed's "usual
    // culprit"), and a timestamp only the server checks: the server's answer lands on the fields.
    await dialog.getByLabel(/^Download URL/).fill(good.url);
    await dialog.getByLabel('SHA256').fill(sha256('another build'));
    await dialog.getByLabel(/^Manifest signature/).fill(good.signature);
    await dialog.getByLabel('Manifest timestamp').fill('2026-04-04 12:00');
    await dialog.getByRole('button', { name: 'Register' }).click();
    await dialog.getByText('Manifest timestamp must be an RFC 3339 UTC time like 2026-04-04T12:00:00Z').waitFor();
    await dialog.getByLabel('Manifest timestamp').fill(good.timestamp);
    await dialog.getByRole('button', { name: 'Register' }).click();
    await dialog.getByText(/the manifest signature does not cover these values/).waitFor();
    await dialog.getByText('SHA256 must be the SHA256 the manifest signature covers').waitFor();
    assert.equal((await artifacts(admin, 'osquery')).length, 0, 'nothing registered when the signature does not verify');

    await dialog.getByLabel('SHA256').fill(good.sha256);
    await dialog.getByRole('button', { name: 'Register' }).click();
    await toast(page, 'osquery 5.12.1 (linux/amd64) registered').waitFor();
    await dialog.waitFor({ state: 'hidden' });

    const row = page.getByTestId('artifact-linux/amd64-5.12.1');
    await row.getByText('Pending').waitFor();
    await row.getByText('linux/amd64').waitFor();
    await row.getByLabel('Rollout unavailable until approved').waitFor();
    assert.equal(await row.getByRole('button', { name: '1%', exact: true }).count(), 0, 'no presets while pending');
    const [registered] = await artifacts(admin, 'osquery');
    assert.ok(registered);
    assert.equal(registered.status, 'pending');
    await settledScreenshot(page, 'settings-osquery-updates-pending');

    // --- Approve: the button says "Approving…" while the request is in flight (held here until seen).
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    await page.route('**/api/v1/updates/osquery/artifacts/*/approve', async (route) => {
      await held;
      await route.continue();
    });
    await row.getByRole('button', { name: 'Approve' }).click();
    await row.getByRole('button', { name: 'Approving…' }).waitFor();
    release();
    await toast(page, 'osquery 5.12.1 (linux/amd64) approved').waitFor();
    await row.getByText('Approved').waitFor();
    await page.unroute('**/api/v1/updates/osquery/artifacts/*/approve');

    const presets = row.getByRole('group', { name: 'Rollout for osquery 5.12.1 (linux/amd64)' });
    assert.deepEqual(await presets.getByRole('button').allTextContents(), ['0%', '1%', '5%', '25%', '100%']);
    // Approval leaves the rollout at 0: that preset is the saved one, outlined and disabled.
    assert.equal(await presets.getByRole('button', { name: '0%', exact: true }).getAttribute('aria-pressed'), 'true');
    assert.ok(await presets.getByRole('button', { name: '0%', exact: true }).isDisabled());

    // --- roll out 1%
    await presets.getByRole('button', { name: '1%', exact: true }).click();
    await toast(page, 'Rollout set to 1%').waitFor();
    await presets.locator('button[aria-pressed="true"]', { hasText: '1%' }).waitFor();
    assert.ok(await presets.getByRole('button', { name: '1%', exact: true }).isDisabled(), 'the current preset is disabled');
    assert.ok(await presets.getByRole('button', { name: '0%', exact: true }).isEnabled());
    const outline = await borderColor(presets.getByRole('button', { name: '1%', exact: true }));
    const plain = await borderColor(presets.getByRole('button', { name: '5%', exact: true }));
    assert.notEqual(outline, plain, 'the saved preset carries the accent outline');
    assert.equal((await artifacts(admin, 'osquery'))[0]?.rollout, 1);

    // --- Delete is greyed out with its tooltip while rollout > 0, and a click does nothing
    const del = row.getByRole('button', { name: 'Delete' });
    assert.equal(await del.getAttribute('aria-disabled'), 'true');
    await settledScreenshot(page, 'settings-osquery-updates-rollout');
    await del.hover();
    await page.getByRole('tooltip', { name: 'Set rollout to 0% before deleting.' }).waitFor();
    await screenshot(page, 'settings-osquery-updates-delete-tooltip');
    await del.click({ force: true });
    assert.equal(await page.getByRole('dialog').count(), 0, 'no confirm modal while rolled out');
    const refused = await admin.call('DELETE', `/api/v1/updates/osquery/artifacts/${registered.id}`);
    assert.equal(refused.status, 409, 'the API refuses too');

    // --- pause, then delete with the confirm modal
    await presets.getByRole('button', { name: '0%', exact: true }).click();
    await toast(page, 'Rollout set to 0%').waitFor();
    await presets.locator('button[aria-pressed="true"]', { hasText: '0%' }).waitFor();
    await row.locator('button[aria-disabled="true"]', { hasText: 'Delete' }).waitFor({ state: 'detached' });
    await row.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete version' });
    await confirm.getByText('Delete osquery 5.12.1 (linux/amd64)? This cannot be undone. Agents currently running this version are unaffected.').waitFor();
    await screenshot(page, 'settings-osquery-updates-delete-confirm');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await toast(page, 'osquery 5.12.1 (linux/amd64) deleted').waitFor();
    await page.getByText('No osquery versions registered.', { exact: false }).waitFor();
    assert.equal((await artifacts(admin, 'osquery')).length, 0);

    // --- the seed's multi-platform picture, each row independent
    await publish(admin, 'osquery', signed(signer, 'osquery', '5.12.1', 'linux', 'amd64'), 25);
    await publish(admin, 'osquery', signed(signer, 'osquery', '5.12.1', 'darwin', 'arm64'), 0);
    await publish(admin, 'osquery', signed(signer, 'osquery', '5.11.4', 'windows', 'amd64'), 100);
    await api(admin, 'POST', '/api/v1/updates/osquery/artifacts', signed(signer, 'osquery', '5.12.1', 'freebsd', 'amd64'), 201);
    // Three enrolled Ubuntu stand-ins: linux/amd64 hosts for the row's progress line.
    await startHosts(t, srv, 3, { intervalMs: 1000 });
    // Away and back (not a reload): the list is fetched again when the panel mounts.
    await page.getByRole('navigation').getByRole('link', { name: 'Agent Updates' }).click();
    await page.getByRole('heading', { name: 'Agent Updates' }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Osquery Updates' }).click();
    for (const [id, pressed] of [['linux/amd64-5.12.1', '25%'], ['darwin/arm64-5.12.1', '0%'], ['windows/amd64-5.11.4', '100%']] as const) {
      await page.getByTestId(`artifact-${id}`).locator('button[aria-pressed="true"]', { hasText: pressed }).waitFor();
    }
    await page.getByTestId('artifact-freebsd/amd64-5.12.1').getByText('Pending').waitFor();
    const linux = (await artifacts(admin, 'osquery')).find((a) => a.platform === 'linux/amd64');
    assert.ok(linux);
    const progress = await api<UpdateProgress>(admin, 'GET', `/api/v1/updates/osquery/artifacts/${linux.id}/progress`, undefined, 200);
    assert.equal(progress.hostsTotal, 3);
    await page.getByTestId(`progress-${linux.id}`).getByText(`${progress.hostsOnVersion} on 5.12.1 · ${progress.hostsInCohort}/3 hosts in cohort`).waitFor();
    await settledScreenshot(page, 'settings-osquery-updates');
    assert.deepEqual(unexpected(problems, 422), []);
  });
});

describe('console: Agent Updates (seed 000 sibling)', () => {
  it('offers the 0/10/25/50/100 dial and saves each click', async (t) => {
    const { srv, signer } = await startWithKey(t);
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    await setupAdmin(page);
    // After setup: with an admin already present the console would offer sign-in instead.
    const admin = await apiUser(srv, 'admin');
    await page.getByRole('navigation').getByRole('link', { name: 'Agent Updates' }).click();
    await page.getByText('No agent versions registered. Register a signed version to enable agent auto-updates across the fleet.').waitFor();

    // Register through the modal, approve through the page, then turn the dial.
    await page.getByRole('button', { name: 'Register version' }).click();
    await fillRegister(page, signed(signer, 'agent', '1.2.0', 'darwin', 'arm64'));
    await page.getByRole('dialog', { name: 'Register version' }).getByRole('button', { name: 'Register' }).click();
    await toast(page, 'agent 1.2.0 (darwin/arm64) registered').waitFor();
    const row = page.getByTestId('artifact-darwin/arm64-1.2.0');
    await row.getByRole('button', { name: 'Approve' }).click();
    await toast(page, 'agent 1.2.0 (darwin/arm64) approved').waitFor();
    const dial = row.getByRole('group', { name: 'Rollout for agent 1.2.0 (darwin/arm64)' });
    await dial.waitFor();
    assert.deepEqual(await dial.getByRole('button').allTextContents(), ['0%', '10%', '25%', '50%', '100%']);
    for (const p of [10, 50, 100]) {
      await dial.getByRole('button', { name: `${p}%`, exact: true }).click();
      await toast(page, `Rollout set to ${p}%`).waitFor();
      await dial.locator('button[aria-pressed="true"]', { hasText: `${p}%` }).waitFor();
      const [a] = await artifacts(admin, 'agent');
      assert.equal(a?.rollout, p);
    }
    await settledScreenshot(page, 'settings-agent-updates');
    await row.getByRole('button', { name: 'Delete' }).hover();
    await page.getByRole('tooltip', { name: 'Set rollout to 0% before deleting.' }).waitFor();
    // The osquery panel knows nothing of agent rows.
    assert.equal((await artifacts(admin, 'osquery')).length, 0);
    assert.deepEqual(unexpected(problems), []);
  });
});

describe('console: updates panels are admin only', () => {
  it('hides both panels from operators and read-only users, whose API calls get 403', async (t) => {
    const { srv } = await startWithKey(t);
    const browser = await launchBrowser(t, srv);
    const first = await openConsole(browser, srv);
    await setupAdmin(first.page);
    for (const role of ['operator', 'readonly'] as const) {
      const user = await apiUser(srv, role);
      const { page } = await openConsole(browser, srv);
      await signIn(page, user.email, 'correct horse battery staple');
      const nav = page.getByRole('navigation');
      await nav.waitFor();
      for (const label of ['Osquery Updates', 'Agent Updates', 'Users', 'Enroll secrets']) {
        assert.equal(await nav.getByRole('link', { name: label }).count(), 0, `${role} does not see ${label}`);
      }
      await page.goto('/settings/osquery-updates');
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      assert.equal(await page.getByText('Registered versions').count(), 0);
      for (const kind of ['osquery', 'agent']) {
        const r = await user.call('GET', `/api/v1/updates/${kind}/artifacts`);
        assert.equal(r.status, 403, `${role} GET ${kind} artifacts`);
      }
      if (role === 'readonly') await screenshot(page, 'settings-readonly-no-updates');
    }
  });
});
