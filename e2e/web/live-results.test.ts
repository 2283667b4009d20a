/**
 * A live query with many rows in real Chromium: results stream in over SSE, the grid renders only
 * the rows on screen (virtualized), the in-browser filter scans every row, and scrolling reaches
 * the last one; the Status tab pages through hosts; export links carry the session cookie.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiUser, api } from '../../packages/server/test/helper.js';
import { consoleServer, launchBrowser, openConsole, screenshot, setupAdmin, startHosts } from './harness.js';

const HOSTS = 4;
const ROWS_PER_HOST = 5000;

describe('console: live results at volume', () => {
  it('streams 20,000 rows into a virtualized grid that filters and scrolls', async (t) => {
    const srv = await consoleServer(t);
    // Every host answers the processes query with ROWS_PER_HOST rows (10 columns).
    await startHosts(t, srv, HOSTS, {
      intervalMs: 300,
      wrapEngine: (engine, index) => (sql) => {
        if (!/from\s+processes/i.test(sql)) return engine(sql);
        const rows = Array.from({ length: ROWS_PER_HOST }, (_, i) => ({
          pid: String(i), name: `proc-${index}-${i}`, path: `/usr/bin/p${i}`, cmdline: `p${i} --flag`, state: 'S',
          uid: '0', gid: '0', parent: '1', resident_size: String(1000 + i), start_time: '1700000000',
        }));
        return { status: 0, message: '', rows };
      },
    });
    const browser = await launchBrowser(t, srv);
    const { page, problems } = await openConsole(browser, srv);
    await setupAdmin(page);

    const admin = await apiUser(srv, 'admin');
    const lq = await api<{ id: number }>(admin, 'POST', '/api/v1/live-queries', { sql: 'SELECT * FROM processes', targets: { all: true } }, 201);
    await page.goto(`/live/${lq.id}`);
    const total = (HOSTS * ROWS_PER_HOST).toLocaleString('en-US');
    await page.getByTestId('result-row-count').getByText(`${total} rows`).waitFor({ timeout: 60_000 });
    const grid = page.getByRole('table', { name: 'Live query results' });
    const rendered = await grid.getByRole('row').count();
    assert.ok(rendered > 5 && rendered < 100, `only the visible rows are in the DOM (got ${rendered})`);
    await screenshot(page, 'live-results-volume');

    // The filter scans every row in the browser.
    await page.getByLabel('Filter result rows').fill('proc-3-4999');
    await page.getByTestId('result-row-count').getByText(`1 of ${total} rows`).waitFor();
    await grid.getByText('proc-3-4999', { exact: true }).waitFor();
    await page.getByLabel('Filter result rows').fill('');

    // Scrolling to the end (keyboard: the grid is focusable) renders the last rows.
    await grid.focus();
    await page.keyboard.press('End');
    await grid.getByText(/proc-\d-4999/).first().waitFor();

    // Status tab: every host successful with its row count.
    await page.getByRole('tab', { name: /Status/ }).click();
    await page.getByTestId('live-host-row').nth(HOSTS - 1).waitFor();
    assert.equal(await page.getByTestId('live-host-row').filter({ hasText: 'Successful' }).filter({ hasText: String(ROWS_PER_HOST) }).count(), HOSTS);

    // The export link works with the browser's session (cookie) and holds every row.
    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    assert.ok(csvHref !== null);
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
    assert.equal(csv.trim().split('\n').length, HOSTS * ROWS_PER_HOST + 1);
    // The result stream is an EventSource: a dropped connection is retried by the browser and the
    // page resumes after the last complete answer (useLiveStream.ts), which the checks above saw
    // whole. Chromium still logs the failed attempt; only that is tolerated, for the stream only.
    const streamRetry = (p: string) => p.includes('net::ERR_') && p.includes(`/live-queries/${lq.id}/stream`);
    assert.deepEqual(problems.filter((p) => !p.includes('status of 401') && !streamRetry(p)), []);
  });
});
