/**
 * The operator pages in real Chromium against a real server with stand-in osqueryd hosts (issue #7
 * "How it is tested"): setup → dashboard → hosts appear → host page → a live query whose results
 * and per-host status arrive live (one failing host shows Failed) → a pack with a shard → a .conf
 * pack imported by drag and drop → a saved query created and edited; and a read-only user who
 * sees no admin pages and cannot run a live query (no Run control; the API refuses too).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { api, apiUser } from '../../packages/server/test/helper.js';
import { consoleServer, launchBrowser, openConsole, screenshot, setupAdmin, signIn, startHosts } from './harness.js';

const PACK_CONF = new URL('../../packages/server/assets/osquery-example-packs/hardware-monitoring.conf', import.meta.url).pathname;

async function nav(page: Page, label: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: label, exact: true }).click();
}

/** Replace the CodeMirror editor's text (it is a contenteditable, not an input). */
async function typeSql(page: Page, sql: string, nth = 0): Promise<void> {
  const editor = page.locator('.cm-content').nth(nth);
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await editor.fill(sql);
}

describe('console: operator pages', () => {
  it('runs the operator workflow end to end and keeps a read-only user read-only', async (t) => {
    const srv = await consoleServer(t);
    const hosts = await startHosts(t, srv, 3, { templates: ['ubuntu', 'macos', 'windows'], failing: [2], intervalMs: 300 });
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.request().method()} ${r.url()}`);
    });
    await setupAdmin(page);

    // Dashboard: the three stand-ins are counted.
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.getByTestId('stat-total').getByText('3').waitFor();
    await screenshot(page, 'dashboard');

    // Hosts: the table lists them; free-text search narrows it.
    await nav(page, 'Hosts');
    const table = page.getByRole('table', { name: 'Hosts' });
    await table.locator('tbody tr').nth(2).waitFor();
    assert.equal(await table.locator('tbody tr').count(), 3);
    await screenshot(page, 'hosts');
    const first = hosts[0];
    assert.ok(first);
    const hostname = first.profile.hostname;
    assert.notEqual(hostname, '');
    await page.getByLabel('Search').fill(hostname);
    await page.waitForURL(/q=/);
    for (let i = 0; i < 50 && (await table.locator('tbody tr').count()) !== 1; i++) await page.waitForTimeout(100);
    assert.equal(await table.locator('tbody tr').count(), 1, 'search narrows the list to one host');

    // A filter (platform) and the CSV export of the same filters, fetched with the page's session.
    await page.getByLabel('Search').fill('');
    await page.getByRole('combobox', { name: 'Platform' }).click();
    await page.getByRole('option', { name: 'windows', exact: true }).click();
    await page.waitForURL(/platform=windows/);
    for (let i = 0; i < 50 && (await table.locator('tbody tr').count()) !== 1; i++) await page.waitForTimeout(100);
    await table.getByText('windows', { exact: true }).waitFor();
    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    assert.ok(csvHref !== null && csvHref.includes('platform=windows'));
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
    assert.equal(csv.trim().split('\n').length, 2, 'header + the one windows host');
    await page.goto('/hosts');
    await table.locator('tbody tr').nth(2).waitFor();

    // Dark theme and a wide monitor.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 2560, height: 1000 });
    await screenshot(page, 'hosts-dark-wide');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1440, height: 900 });

    // Host page: vitals and actions.
    await page.getByLabel('Search').fill(hostname);
    await page.waitForURL(/q=/);
    await table.getByRole('link', { name: hostname }).click();
    await page.getByRole('link', { name: 'Run live query on this host' }).waitFor();
    await page.getByText('Primary IP').waitFor();
    await screenshot(page, 'host');

    // New live query: an unknown table is an inline error and blocks Submit.
    await nav(page, 'Live queries');
    await page.getByRole('link', { name: 'New live query' }).click();
    await typeSql(page, 'SELECT * FROM no_such_table');
    await page.getByTestId('sql-errors').waitFor();
    const targetInput = page.getByLabel('Search targets');
    await targetInput.click();
    await targetInput.fill('all');
    await page.getByRole('option', { name: /All hosts/ }).click();
    await page.getByTestId('target-count').getByText('3 hosts selected').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Submit' }).isDisabled(), true, 'invalid SQL cannot be submitted');
    await typeSql(page, 'SELECT version, build_platform FROM osquery_info');
    await page.getByTestId('sql-errors').waitFor({ state: 'detached' });
    await screenshot(page, 'live-new');
    await page.getByRole('button', { name: 'Submit' }).click();

    // Results arrive live: two hosts answer with one row each, the failing one shows Failed.
    await page.waitForURL(/\/live\/\d+$/);
    await page.getByTestId('result-row-count').getByText('2 rows').waitFor({ timeout: 20_000 });
    await page.getByRole('table', { name: 'Live query results' }).getByText('build_platform').waitFor();
    await screenshot(page, 'live-results');
    await page.getByRole('tab', { name: /Status/ }).click();
    await page.getByTestId('live-host-row').filter({ hasText: 'Failed' }).getByText('no such table: e2e_failure').waitFor({ timeout: 20_000 });
    assert.equal(await page.getByTestId('live-host-row').filter({ hasText: 'Successful' }).count(), 2);
    await screenshot(page, 'live-status');
    const liveId = Number(new URL(page.url()).pathname.split('/').pop());

    // "Save for later" opens the saved-query form with this SQL.
    await page.getByRole('button', { name: 'Save for later' }).click();
    await page.waitForURL(/\/queries\/new$/);
    await page.locator('.cm-content').getByText('SELECT version, build_platform FROM osquery_info').waitFor();

    // History lists it.
    await nav(page, 'Live queries');
    await page.getByRole('link', { name: `View results of live query ${liveId}` }).waitFor();
    await screenshot(page, 'live-history');

    // A pack deployed on the default group with a 25 % shard.
    await nav(page, 'Packs');
    await page.getByRole('link', { name: 'Add pack' }).click();
    await page.getByLabel('Name').fill('e2e-shard-pack');
    await page.getByRole('button', { name: 'Add group' }).click();
    const slider = page.getByTestId('pack-target').getByRole('slider');
    await slider.focus();
    await page.keyboard.press('Home');
    for (let i = 0; i < 24; i++) await page.keyboard.press('ArrowRight');
    await page.getByTestId('pack-target').getByText('25%', { exact: true }).first().waitFor();
    await page.getByRole('button', { name: 'Add query' }).click();
    await page.getByLabel('Query ID').fill('e2e_os');
    await typeSql(page, 'SELECT version FROM osquery_info');
    await screenshot(page, 'pack-edit');
    await page.getByRole('button', { name: 'Save pack' }).click();
    await page.waitForURL(/\/packs\/\d+$/);
    await page.getByRole('table', { name: 'Query status' }).getByText('e2e_os').waitFor();
    await screenshot(page, 'pack-status');
    const admin = await apiUser(srv, 'admin');
    const packId = Number(new URL(page.url()).pathname.split('/').pop());
    const saved = await api<{ targets: { groupName: string; shard: number }[]; queries: { name: string; sql: string }[]; enabled: boolean }>(admin, 'GET', `/api/v1/packs/${packId}`, undefined, 200);
    assert.deepEqual(saved.targets.map((t) => t.shard), [25]);
    assert.deepEqual(saved.queries.map((q) => [q.name, q.sql]), [['e2e_os', 'SELECT version FROM osquery_info']]);

    // A .conf pack dropped on the import zone is created as it is, named after the file.
    await nav(page, 'Packs');
    await page.getByTestId('pack-import-dropzone').locator('input[type=file]').setInputFiles(PACK_CONF);
    await page.getByRole('table', { name: 'Packs' }).getByRole('link', { name: 'hardware-monitoring', exact: true }).waitFor();
    await screenshot(page, 'packs');
    const conf = JSON.parse(readFileSync(PACK_CONF, 'utf8').replace(/\\\n/g, ' ')) as { queries: Record<string, unknown> };
    const packs = await api<{ items: { name: string; queryCount: number }[] }>(admin, 'GET', '/api/v1/packs?q=hardware-monitoring', undefined, 200);
    assert.equal(packs.items[0]?.queryCount, Object.keys(conf.queries).length);

    // Saved query: create, then edit its description.
    await nav(page, 'Saved queries');
    await page.getByRole('link', { name: 'Add saved query' }).click();
    await page.getByLabel('ID').fill('e2e_users');
    await typeSql(page, 'SELECT uid, username FROM users');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('table', { name: 'Saved queries' }).getByRole('link', { name: 'e2e_users', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Edit e2e_users' }).click();
    await page.getByLabel('Description').fill('Local accounts');
    await page.getByRole('button', { name: 'Update' }).click();
    await page.getByRole('table', { name: 'Saved queries' }).getByText('Local accounts').waitFor();
    await screenshot(page, 'saved-queries');

    // The remaining pages render.
    await nav(page, 'Labels');
    await page.getByRole('table', { name: 'Labels' }).getByText('builtin').first().waitFor();
    await screenshot(page, 'labels');
    await nav(page, 'Scheduled results');
    await page.getByRole('table', { name: 'Scheduled results' }).waitFor();
    await screenshot(page, 'scheduled-results');
    await nav(page, 'Audit log');
    await page.getByRole('table', { name: 'Audit log' }).getByText('live_query.run').first().waitFor();
    await screenshot(page, 'audit-log');

    // No request failed (the listener starts after the first load, so the pre-setup session probe is not seen).
    assert.deepEqual(failed.map((f) => f.replace(/https:\/\/[^/]+/, '')).filter((f) => f !== '401 GET /api/v1/session'), []);
    assert.deepEqual(problems.filter((p) => !p.includes('status of 401')), []);

    // A read-only user: no admin pages, no way to run a live query, and the API refuses anyway.
    const ro = await apiUser(srv, 'readonly', 'reader@example.com');
    const roPage = await openConsole(browser, srv);
    await signIn(roPage.page, 'reader@example.com', 'correct horse battery staple');
    const roNav = roPage.page.getByRole('navigation', { name: 'Main navigation' });
    await roNav.getByRole('link', { name: 'Live queries', exact: true }).click();
    await roPage.page.getByRole('link', { name: `View results of live query ${liveId}` }).waitFor();
    assert.equal(await roPage.page.getByRole('link', { name: 'New live query' }).count(), 0);
    assert.equal(await roPage.page.getByRole('button', { name: `Rerun live query ${liveId}` }).count(), 0);
    assert.equal(await roNav.getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal(await roNav.getByRole('link', { name: 'Audit log' }).count(), 0);
    await roPage.page.goto(`/live/${liveId}`);
    await roPage.page.getByTestId('live-counts').waitFor();
    assert.equal(await roPage.page.getByRole('button', { name: 'Rerun' }).count(), 0);
    await roPage.page.goto('/live/new');
    await roPage.page.getByText('Page not found').waitFor();
    await api(ro, 'POST', '/api/v1/live-queries', { sql: 'SELECT 1', targets: { all: true } }, 403);
    assert.deepEqual(roPage.problems.filter((p) => !p.includes('status of 401')), []);
  });
});
