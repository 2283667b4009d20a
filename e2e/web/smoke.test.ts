/**
 * The console's front door in real Chromium: first-admin setup, the signed-in shell, sign-out,
 * wrong password, sign-in, session expiry (revoked session → sign-in page with a note), deep links.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ADMIN, consoleServer, launchBrowser, openConsole, screenshot, setupAdmin, signIn } from './harness.js';

describe('console: setup and sign-in', () => {
  it('creates the first admin, signs out and in, and handles an expired session', async (t) => {
    const srv = await consoleServer(t);
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);

    await page.getByRole('heading', { name: 'Welcome to Mimir' }).waitFor();
    await screenshot(page, 'setup');
    // Mismatched confirmation is caught before anything is sent.
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel(/^Password/).fill(ADMIN.password);
    await page.getByLabel('Confirm password').fill('something else entirely');
    await page.getByRole('button', { name: 'Create admin account' }).click();
    await page.getByText('The passwords do not match.').waitFor();
    assert.equal(await srv.app.store.users.count(), 0, 'no user created on a mismatch');

    await setupAdmin(page);
    await page.getByTestId('account-menu').click();
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Mimir' }).waitFor();

    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel(/^Password/).fill('wrong password, clearly');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await screenshot(page, 'sign-in');

    await signIn(page, ADMIN.email, ADMIN.password);
    // A reload keeps the session (cookie) and the CSRF token (GET /session).
    await page.reload();
    await page.getByTestId('account-menu').waitFor();

    // Revoke every session server-side: the next API call gets 401 and the console says so.
    const user = await srv.app.store.users.findByEmail(ADMIN.email);
    assert.ok(user);
    await srv.app.store.users.revokeAllSessions(user.id, Date.now());
    await page.goto('/no-such-page');
    await page.getByRole('heading', { name: 'Sign in to Mimir' }).waitFor();
    assert.deepEqual(problems.filter((p) => !p.includes('401')), []);
  });
});
