/**
 * Seed 004 "Save queries" step 3 in real Chromium: on the saved-query form, Test configuration opens
 * the Test query panel, which runs the form's UNSAVED SQL and ECS mapping on a picked host and shows
 * the answers with the mapping icon on mapped columns (its tooltip names the ECS field); a bad
 * mapping entry is refused with the entry named and starts nothing. The live results page shows the same
 * icon. Labels: a host is removed from a manual label in the UI.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { api, apiUser } from '../../packages/server/test/helper.js';
import { consoleServer, launchBrowser, openConsole, screenshot, setupAdmin, startHosts } from './harness.js';

const MARKER = 'e2e-unsaved';
const UNSAVED_SQL = `SELECT username, uid FROM users WHERE username = '${MARKER}'`;

interface LiveQueryBody { id: number; queries: { sql: string; ecsMapping: Record<string, { field?: string }> | null }[]; counts: { targeted: number } }

async function typeSql(page: Page, sql: string): Promise<void> {
  const editor = page.locator('.cm-content').first();
  await editor.click();
  await editor.fill(sql);
}

async function pickHost(page: Page, hostname: string, id: number): Promise<void> {
  const panel = page.getByRole('dialog', { name: 'Test query' });
  await panel.getByLabel('Search targets').fill(hostname);
  await page.getByRole('option', { name: new RegExp(`#${id}\\)`) }).click();
  await page.keyboard.press('Escape');
  await panel.getByTestId('target-count').getByText('1 hosts selected').waitFor();
}

describe('console: Test configuration and manual label members', () => {
  it('tests the unsaved query with its ECS mapping on a picked host, and removes a host from a manual label', async (t) => {
    const srv = await consoleServer(t);
    // Only the query naming MARKER gets this row, so seeing it proves the unsaved SQL ran.
    const hosts = await startHosts(t, srv, 2, {
      intervalMs: 300,
      wrapEngine: (engine) => (sql) => (sql.includes(MARKER) ? { status: 0, message: '', rows: [{ username: MARKER, uid: '4242' }] } : engine(sql)),
    });
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    await setupAdmin(page);
    const admin = await apiUser(srv, 'admin');
    const list = await api<{ items: { id: number; hostname: string }[] }>(admin, 'GET', '/api/v1/hosts?sort=hostname', undefined, 200);
    const [first, second] = [list.items.find((h) => h.hostname === hosts[0]?.profile.hostname), list.items.find((h) => h.hostname === hosts[1]?.profile.hostname)];
    assert.ok(first && second);
    const saved = await api<{ id: number }>(admin, 'POST', '/api/v1/queries', { name: 'e2e_users', description: 'saved version', sql: 'SELECT uid FROM users' }, 201);

    // Edit the form without saving: new SQL and an ECS mapping user.name ← username.
    await page.goto(`/queries/${saved.id}`);
    await page.getByLabel('ID').and(page.locator('[value="e2e_users"]')).waitFor();
    await typeSql(page, UNSAVED_SQL);
    await page.getByRole('button', { name: 'Add ECS field' }).click();
    await page.getByRole('combobox', { name: 'ECS field' }).fill('user.name');
    await page.getByRole('combobox', { name: 'osquery column' }).fill('username');
    await page.keyboard.press('Escape');

    // Test configuration → Test query panel → pick the first host → Submit.
    await page.getByRole('button', { name: 'Test configuration' }).click();
    const panel = page.getByRole('dialog', { name: 'Test query' });
    await panel.waitFor();
    const submit = panel.getByRole('button', { name: 'Submit' });
    assert.equal(await submit.isDisabled(), true, 'no targets, no run');
    await pickHost(page, hosts[0]?.profile.hostname ?? '', first.id);
    await submit.click();

    const grid = panel.getByRole('table', { name: 'Live query results' });
    await grid.getByRole('cell', { name: MARKER, exact: true }).waitFor({ timeout: 30_000 });
    await panel.getByTestId('result-row-count').getByText('1 rows').waitFor();
    // The mapped column carries the icon; the unmapped one does not.
    const usernameHeader = grid.getByRole('columnheader').filter({ hasText: 'username' });
    const uidHeader = grid.getByRole('columnheader').filter({ hasText: 'uid' });
    assert.equal(await usernameHeader.getByTestId('ecs-mapped-icon').count(), 1);
    assert.equal(await uidHeader.getByTestId('ecs-mapped-icon').count(), 0);
    await usernameHeader.getByTestId('ecs-mapped-icon').hover();
    const tooltip = page.getByRole('tooltip');
    await tooltip.waitFor();
    assert.equal(await tooltip.innerText(), 'Mapped to ECS field user.name');
    await screenshot(page, 'test-configuration');

    // What ran was the unsaved form, on the one picked host; the saved query did not change.
    const href = await panel.getByRole('link', { name: /Open live query #\d+/ }).getAttribute('href');
    const liveId = Number(href?.split('/').pop());
    const lq = await api<LiveQueryBody>(admin, 'GET', `/api/v1/live-queries/${liveId}`, undefined, 200);
    const part = lq.queries[0];
    assert.ok(part);
    assert.equal(part.sql, UNSAVED_SQL);
    assert.deepEqual(part.ecsMapping, { 'user.name': { field: 'username' } });
    assert.equal(lq.counts.targeted, 1);
    const after = await api<{ sql: string; ecsMapping: Record<string, unknown> }>(admin, 'GET', `/api/v1/queries/${saved.id}`, undefined, 200);
    assert.equal(after.sql, 'SELECT uid FROM users');
    assert.deepEqual(after.ecsMapping, {});

    // A mapping the API refuses (an entry with neither a column nor a value): the panel names the
    // entry and no live query starts.
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    await page.getByRole('combobox', { name: 'osquery column' }).fill('');
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Test configuration' }).click();
    // The panel keeps the picked targets between openings.
    await panel.getByTestId('target-count').getByText('1 hosts selected').waitFor();
    await panel.getByRole('button', { name: 'Submit' }).click();
    const refused = panel.getByRole('alert').filter({ hasText: 'The test query was not started' });
    await refused.waitFor();
    assert.match(await refused.innerText(), /user\.name/);
    const runs = await api<{ items: unknown[] }>(admin, 'GET', '/api/v1/live-queries', undefined, 200);
    assert.equal(runs.items.length, 1, 'the refused test started nothing');
    assert.equal(await grid.count(), 0, 'the earlier results are not shown as if they answered the refused test');
    await page.keyboard.press('Escape');

    // The live results page shows the same icon and tooltip for the mapped run.
    await page.goto(`/live/${liveId}`);
    const liveGrid = page.getByRole('table', { name: 'Live query results' });
    await liveGrid.getByRole('cell', { name: MARKER, exact: true }).waitFor();
    await liveGrid.getByRole('columnheader').filter({ hasText: 'username' }).getByTestId('ecs-mapped-icon').hover();
    await page.getByRole('tooltip').getByText('Mapped to ECS field user.name').waitFor();

    // Labels: a manual label with both hosts; remove the first in the edit dialog.
    const label = await api<{ label: { id: number } }>(admin, 'POST', '/api/v1/labels', { name: 'e2e-manual', description: '', type: 'manual', hostIds: [first.id, second.id] }, 201);
    await page.goto('/labels');
    await page.getByRole('button', { name: 'Edit e2e-manual' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit e2e-manual' });
    const members = dialog.getByRole('table', { name: 'Hosts in e2e-manual' });
    await members.getByRole('row').nth(1).waitFor();
    assert.equal(await members.getByRole('row').count(), 2);
    await screenshot(page, 'label-members');
    await dialog.getByRole('button', { name: new RegExp(`^Remove ${hosts[0]?.profile.hostname ?? '-'} from e2e-manual$`) }).click();
    await page.getByText('1 host remains').waitFor();
    await members.getByRole('row').nth(1).waitFor({ state: 'detached' });
    assert.match(await members.innerText(), new RegExp(`#${second.id},`));
    const remaining = await api<{ items: { id: number }[] }>(admin, 'GET', `/api/v1/labels/${label.label.id}/hosts`, undefined, 200);
    assert.deepEqual(remaining.items.map((h) => h.id), [second.id]);
    await page.keyboard.press('Escape');
    const row = page.getByRole('table', { name: 'Labels' }).getByRole('row').filter({ hasText: 'e2e-manual' });
    await row.getByRole('link', { name: '1', exact: true }).waitFor();

    assert.deepEqual(problems.filter((p) => !p.includes('status of 401') && !p.includes('status of 422') && !p.includes('status of 400')), []);
  });
});
