/**
 * Settings pages in real Chromium against a real server: users and roles (create, change role,
 * disable, the last admin protected), API tokens (shown once, works, revoked → 401), enroll secrets
 * (rotate, revoke, flagfile and CA downloads), Time & Display (saving changes a time shown on
 * another page), osquery options and retention; a screenshot of each page.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import type { ApiToken, EnrollSecret, OsqueryOptionsSettings, RetentionSettings, User } from '@mimir/api-contract';
import { api, apiUser, rawRequest, type TestServer } from '../../packages/server/test/helper.js';
import { ADMIN, consoleServer, launchBrowser, openConsole, screenshot, setupAdmin } from './harness.js';
import { nav, settledScreenshot, toast, unexpected } from './settings-helpers.js';

/** Pick `option` in the Mantine Select named `name` inside `scope`. */
async function pickOption(page: Page, scope: Page | Locator, name: string, option: string): Promise<void> {
  await scope.getByRole('combobox', { name }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; text: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await d.path();
  return { name: d.suggestedFilename(), text: await readFile(path, 'utf8') };
}

async function bearer(srv: TestServer, token: string, path: string): Promise<number> {
  return (await rawRequest(srv, path, { method: 'GET', headers: { authorization: `Bearer ${token}` } })).status;
}

describe('console: settings', () => {
  it('manages users, tokens, enroll secrets, Time & Display, osquery options and retention', async (t) => {
    const srv = await consoleServer(t);
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    await setupAdmin(page);

    // --- Users and roles. The only admin cannot demote themself: the API says why, the role stays.
    await nav(page, 'Users');
    await page.getByRole('heading', { name: 'Users and roles' }).waitFor();
    await pickOption(page, page.getByTestId(`user-${ADMIN.email}`), `Role of ${ADMIN.email}`, 'Operator');
    await toast(page, 'the last active admin cannot be demoted or disabled').waitFor();
    assert.equal((await srv.app.store.users.findByEmail(ADMIN.email))?.role, 'admin');
    // A second admin for the API checks below (after the check above, which needs a single admin).
    const admin = await apiUser(srv, 'admin', 'robot-admin@example.com');
    await page.getByRole('button', { name: 'Create user' }).click();
    const create = page.getByRole('dialog', { name: 'Create user' });
    await create.getByLabel('Email').fill('olga@example.com');
    await create.getByLabel('Name').fill('Olga Operator');
    await create.getByLabel(/^First password/).fill('short');
    await create.getByRole('button', { name: 'Create user' }).click();
    await create.getByText('At least 12 characters.').waitFor();
    assert.equal(await srv.app.store.users.findByEmail('olga@example.com'), undefined, 'nothing created with a short password');
    await create.getByLabel(/^First password/).fill('a long enough password');
    await create.getByRole('button', { name: 'Create user' }).click();
    await toast(page, 'olga@example.com can now sign in as Operator').waitFor();
    const olga = page.getByTestId('user-olga@example.com');
    await olga.waitFor();
    assert.equal((await srv.app.store.users.findByEmail('olga@example.com'))?.role, 'operator');

    await pickOption(page, olga, 'Role of olga@example.com', 'Read-only');
    await toast(page, 'olga@example.com is now Read-only').waitFor();
    const signInStatus = async (password: string) => (await rawRequest(srv, '/api/v1/session', { body: JSON.stringify({ email: 'olga@example.com', password }) })).status;
    await olga.getByRole('button', { name: 'Actions for olga@example.com' }).click();
    await page.getByRole('menuitem', { name: 'Reset password' }).click();
    const reset = page.getByRole('dialog', { name: 'Reset password of olga@example.com' });
    await reset.getByLabel(/^New password/).fill('too short');
    await reset.getByRole('button', { name: 'Set password' }).click();
    await reset.getByText('At least 12 characters.').waitFor();
    assert.equal(await signInStatus('a long enough password'), 200, 'the old password still works');
    await reset.getByLabel(/^New password/).fill('a brand new long password');
    await reset.getByRole('button', { name: 'Set password' }).click();
    await toast(page, 'Password of olga@example.com changed').waitFor();
    assert.equal(await signInStatus('a brand new long password'), 200);
    assert.notEqual(await signInStatus('a long enough password'), 200, 'the old password no longer works');
    await olga.getByRole('button', { name: 'Actions for olga@example.com' }).click();
    await page.getByRole('menuitem', { name: 'Disable' }).click();
    await olga.getByText('Disabled').waitFor();
    assert.notEqual(await signInStatus('a brand new long password'), 200, 'a disabled user cannot sign in');
    const stored = await srv.app.store.users.findByEmail('olga@example.com');
    assert.equal(stored?.role, 'readonly');

    await settledScreenshot(page, 'settings-users');

    // --- API tokens: shown once, usable, revocable
    await nav(page, 'API tokens');
    await page.getByRole('button', { name: 'Create token' }).click();
    const tokenDialog = page.getByRole('dialog', { name: 'Create API token' });
    await tokenDialog.getByRole('button', { name: 'Create token' }).click();
    await tokenDialog.getByText('Name the token after what uses it').waitFor();
    await tokenDialog.getByLabel(/^Name/).fill('CI deploy');
    await pickOption(page, tokenDialog, 'Expires', '30 days');
    await tokenDialog.getByRole('button', { name: 'Create token' }).click();
    const once = page.getByRole('dialog', { name: 'Copy your new token' });
    const token = (await once.getByTestId('new-token').textContent()) ?? '';
    assert.match(token, /^mimir_/);
    await once.getByRole('button', { name: 'Copy token' }).waitFor();
    await screenshot(page, 'settings-token-shown-once');
    assert.equal(await bearer(srv, token, '/api/v1/tokens'), 200, 'the new token works');
    await once.getByRole('button', { name: 'Done' }).click();
    await once.waitFor({ state: 'hidden' });
    assert.equal(await page.getByText(token).count(), 0, 'the token is not shown again');
    const row = page.getByTestId('token-CI deploy');
    await row.getByText(token.slice(0, 8), { exact: false }).waitFor();
    const { items } = await api<{ items: ApiToken[] }>(admin, 'GET', '/api/v1/tokens', undefined, 200);
    const ci = items.find((x) => x.name === 'CI deploy');
    assert.ok(ci?.expiresAt !== null && ci?.expiresAt !== undefined);
    const days = (Date.parse(ci.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `expires in 30 days, got ${days}`);
    await settledScreenshot(page, 'settings-tokens');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke token' }).getByRole('button', { name: 'Revoke' }).click();
    await toast(page, 'Token CI deploy revoked').waitFor();
    await row.getByText('Revoked').waitFor();
    assert.equal(await bearer(srv, token, '/api/v1/tokens'), 401, 'a revoked token stops working');

    // --- Enroll secrets: rotate, revoke, agent files
    await nav(page, 'Enroll secrets');
    await page.getByText('Secrets of default').waitFor();
    const before = await api<{ items: EnrollSecret[] }>(admin, 'GET', '/api/v1/groups/1/secrets', undefined, 200);
    assert.equal(before.items.filter((s) => s.active).length, 1);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const rotate = page.getByRole('dialog', { name: /^Rotate the enroll secret/ });
    await rotate.getByLabel(/^Secret/).fill('has spaces in it, not allowed');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    await rotate.getByText('16 to 256 printable characters without spaces').waitFor();
    await rotate.getByLabel(/^Secret/).fill('');
    await rotate.getByLabel(/^Name/).fill('2026 rollout');
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    await toast(page, 'New enroll secret for default; the older ones still work until you revoke them').waitFor();
    const after = await api<{ items: EnrollSecret[] }>(admin, 'GET', '/api/v1/groups/1/secrets', undefined, 200);
    const fresh = after.items.find((s) => s.name === '2026 rollout');
    assert.ok(fresh?.active);
    assert.equal(after.items.filter((s) => s.active).length, 2);
    const old = before.items[0];
    assert.ok(old);
    const oldRow = page.getByTestId(`secret-${old.id}`);
    await oldRow.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog', { name: 'Revoke enroll secret' }).getByRole('button', { name: 'Revoke' }).click();
    await oldRow.getByText(/^Revoked/).waitFor();
    const final = await api<{ items: EnrollSecret[] }>(admin, 'GET', '/api/v1/groups/1/secrets', undefined, 200);
    assert.deepEqual(final.items.filter((s) => s.active).map((s) => s.id), [fresh.id]);

    await page.getByRole('button', { name: `Show secret ${fresh.name}` }).click();
    await page.getByTestId(`secret-value-${fresh.id}`).getByText(fresh.secret).waitFor();
    await page.getByRole('button', { name: 'Show flagfile' }).click();
    const preview = page.getByTestId('flagfile-preview');
    await preview.getByText('--enroll_secret_path=/etc/osquery/mimir/enroll_secret', { exact: false }).waitFor();
    const flags = await download(page, () => page.getByRole('button', { name: 'Download flagfile' }).click());
    assert.equal(flags.name, 'osquery.flags');
    assert.match(flags.text, /--tls_hostname=/);
    const secretFile = await download(page, () => page.getByRole('button', { name: 'Download secret file' }).click());
    assert.equal(secretFile.text, fresh.secret, 'the newest active secret');
    const ca = await download(page, () => page.getByRole('button', { name: 'Download CA certificate' }).click());
    assert.equal(ca.name, 'ca.pem');
    assert.equal(ca.text.trim(), srv.ca.trim(), 'the CA that signed this server');
    // The group's own osquery options (override the global ones for its hosts).
    await pickOption(page, page, 'Add an option', 'distributed_interval');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Value of distributed_interval').fill('20');
    await page.getByRole('button', { name: 'Save options' }).click();
    await toast(page, 'osquery options of default saved').waitFor();
    const group = await api<{ options: Record<string, unknown> }>(admin, 'GET', '/api/v1/groups/1', undefined, 200);
    assert.deepEqual(group.options, { distributed_interval: 20 });
    await settledScreenshot(page, 'settings-enroll-secrets');

    // --- Time & Display: a time on another page changes format
    await nav(page, 'Users');
    const created = await srv.app.store.users.findByEmail('olga@example.com');
    assert.ok(created);
    const iso = new Date(created.created_at).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await olga.getByText(iso).waitFor();
    await nav(page, 'Time & Display');
    await page.getByRole('heading', { name: 'Time & Display' }).waitFor();
    await page.getByRole('combobox', { name: 'Time zone' }).fill('Asia/Tokyo');
    await page.getByRole('option', { name: 'Asia/Tokyo', exact: true }).click();
    await pickOption(page, page, 'Date format', 'DD.MM.YYYY HH:mm:ss');
    await page.getByTestId('display-preview').getByText(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$/).waitFor();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await toast(page, 'Times are now shown in Asia/Tokyo').waitFor();
    await settledScreenshot(page, 'settings-time-display');
    const display = await api<{ timeZone: string; dateFormat: string }>(admin, 'GET', '/api/v1/settings/display', undefined, 200);
    assert.deepEqual(display, { timeZone: 'Asia/Tokyo', dateFormat: 'DD.MM.YYYY HH:mm:ss' });
    await nav(page, 'Users');
    // Tokyo is UTC+09:00 all year (no daylight saving).
    const k = new Date(created.created_at + 9 * 3_600_000);
    const p2 = (n: number) => String(n).padStart(2, '0');
    const expected = `${p2(k.getUTCDate())}.${p2(k.getUTCMonth() + 1)}.${k.getUTCFullYear()} ${p2(k.getUTCHours())}:${p2(k.getUTCMinutes())}:${p2(k.getUTCSeconds())}`;
    await page.getByTestId('user-olga@example.com').getByText(expected).waitFor();
    assert.equal(await page.getByTestId('user-olga@example.com').getByText(iso).count(), 0);

    // --- osquery options and retention
    await nav(page, 'osquery & retention');
    await pickOption(page, page, 'Add an option', 'distributed_interval');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByLabel('Value of distributed_interval').fill('30');
    await page.getByRole('button', { name: 'Save options' }).click();
    await toast(page, 'osquery options saved').waitFor();
    const opts = await api<OsqueryOptionsSettings>(admin, 'GET', '/api/v1/settings/osquery-options', undefined, 200);
    assert.equal(opts.options['distributed_interval'], 30, 'saved as a number');
    await page.getByLabel(/^Scheduled results/).waitFor();
    const useDefault = page.getByRole('checkbox', { name: /^Use the server default \(MIMIR_RESULT_RETENTION\)/ });
    if (await useDefault.isChecked()) await useDefault.uncheck();
    await page.getByLabel(/^Scheduled results/).fill('7');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await toast(page, 'Retention saved').waitFor();
    const retention = await api<RetentionSettings>(admin, 'GET', '/api/v1/settings/retention', undefined, 200);
    assert.equal(retention.resultRetentionDays, 7);
    await settledScreenshot(page, 'settings-osquery-retention');

    // Dark theme, for a look at contrast.
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await nav(page, 'Users');
    await page.getByTestId('user-olga@example.com').waitFor();
    await settledScreenshot(page, 'settings-users-dark');
    await page.getByRole('button', { name: 'Actions for olga@example.com' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete user' }).getByText('Delete olga@example.com?', { exact: false }).waitFor();
    await page.getByRole('dialog', { name: 'Delete user' }).getByRole('button', { name: 'Delete' }).click();
    await toast(page, 'olga@example.com deleted').waitFor();
    await page.getByTestId('user-olga@example.com').waitFor({ state: 'detached' });
    const users = await api<{ items: User[] }>(admin, 'GET', '/api/v1/users', undefined, 200);
    assert.deepEqual(users.items.map((u) => u.email).sort(), [ADMIN.email, 'robot-admin@example.com']);
    assert.deepEqual(unexpected(problems, 422), []);
  });

  it('shows read-only users only their tokens and Time & Display, read-only', async (t) => {
    const srv = await consoleServer(t);
    const browser = await launchBrowser(t, srv);
    const first = await openConsole(browser, srv);
    await setupAdmin(first.page);
    const viewer = await apiUser(srv, 'readonly', 'viewer@example.com');
    const { page } = await openConsole(browser, srv);
    await page.getByLabel('Email').fill(viewer.email);
    await page.getByLabel(/^Password/).fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const navigation = page.getByRole('navigation');
    await navigation.getByRole('link', { name: 'API tokens' }).waitFor();
    for (const hidden of ['Users', 'Enroll secrets', 'osquery & retention', 'Agent Updates', 'Osquery Updates']) {
      assert.equal(await navigation.getByRole('link', { name: hidden, exact: true }).count(), 0, `no ${hidden}`);
    }
    await nav(page, 'Time & Display');
    await page.getByText('Only admins can change these settings.').waitFor();
    assert.ok(await page.getByRole('combobox', { name: 'Time zone' }).isDisabled());
    assert.equal(await page.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    await screenshot(page, 'settings-time-display-readonly');
    for (const path of ['/api/v1/users', '/api/v1/groups/1/secrets', '/api/v1/settings/osquery-options', '/api/v1/settings/retention']) {
      assert.equal((await viewer.call('GET', path)).status, 403, path);
    }
    assert.equal((await viewer.call('PUT', '/api/v1/settings/display', { dateFormat: 'relative' })).status, 403);
    await page.goto('/settings/users');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  });
});
