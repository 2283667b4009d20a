/**
 * Console end-to-end harness: a real Mimir server (real HTTPS, real SQLite file) serving the built
 * console, Debian's Chromium driven by playwright-core (Playwright's own browser download cannot
 * reach its CDN here), and stand-in osqueryd hosts. Screenshots land in .test-artifacts/screenshots
 * (git-ignored) so the pages can be looked at after a run.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { OsquerydStandin, createDefaultQueryEngine, makeHostProfile, type HostTemplate, type QueryEngine } from '@mimir/osquery-protocol/standin';
import { startServer, type TestServer } from '../../packages/server/test/helper.js';
import { DEFAULT_WEB_DIR } from '../../packages/server/src/web/web.plugin.js';

export const CHROMIUM = process.env['MIMIR_CHROMIUM'] ?? '/usr/bin/chromium';
const ROOT = new URL('../../', import.meta.url).pathname;
export const SCREENSHOT_DIR = join(ROOT, '.test-artifacts', 'screenshots');

/** Flags from the machine notes: without the background-networking ones Chromium keeps dialling out. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/**
 * Chromium trusts exactly the test server's key, as an operator who imported the server's CA
 * would: the TLS handshake succeeds. Playwright's `ignoreHTTPSErrors` instead lets every handshake
 * fail on the unknown CA (the server logs "alert certificate unknown", ~10 per page load) and then
 * reconnects; on a loaded machine that dance made Chromium give up on a stylesheet or script with
 * net::ERR_TOO_MANY_RETRIES, and the console rendered unstyled.
 */
function trustFlag(srv: Pick<TestServer, 'cert'>): string {
  const spki = new X509Certificate(srv.cert).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`;
}

export async function launchBrowser(t: TestContext, srv: Pick<TestServer, 'cert'>): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, trustFlag(srv)], headless: true });
  t.after(() => browser.close());
  return browser;
}

/** A server with the built console. `npm test` builds it first (`npm run build`). */
export async function consoleServer(t: TestContext, opts: Parameters<typeof startServer>[1] = {}): Promise<TestServer> {
  if (!existsSync(join(DEFAULT_WEB_DIR, 'index.html'))) throw new Error(`the console is not built (${DEFAULT_WEB_DIR}): run npm run build`);
  return startServer(t, opts);
}

export interface ConsolePage {
  page: Page;
  /** Console errors and failed requests seen by the page, for assertions. */
  problems: string[];
}

export async function openConsole(browser: Browser, srv: TestServer, path = '/', viewport = { width: 1440, height: 900 }): Promise<ConsolePage> {
  // The browser trusts the server's key (launchBrowser), so no certificate errors are ignored here.
  const context = await browser.newContext({ baseURL: `https://127.0.0.1:${srv.port}`, viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // Name the resource of a failed load: Chromium's message alone does not say which request failed.
    if (m.type() === 'error') problems.push(`console: ${m.text()}${m.location().url !== '' ? ` (${m.location().url})` : ''}`);
  });
  await page.goto(path);
  return { page, problems };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export const ADMIN = { email: 'admin@example.com', name: 'Ada Admin', password: 'correct horse battery staple' };

/** First run through the setup page; leaves the admin signed in. */
export async function setupAdmin(page: Page): Promise<void> {
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Name').fill(ADMIN.name);
  await page.getByLabel(/^Password/).fill(ADMIN.password);
  await page.getByLabel('Confirm password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await page.getByTestId('account-menu').waitFor();
}

export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('account-menu').waitFor();
}

/**
 * Enrolled stand-in hosts that answer distributed queries, polling every `intervalMs` until the
 * test ends. Hosts whose index is in `failing` answer every non-detail query with an osquery error.
 */
export async function startHosts(
  t: TestContext,
  srv: TestServer,
  count: number,
  opts: {
    intervalMs?: number;
    templates?: readonly HostTemplate[];
    failing?: readonly number[];
    /** Wrap host i's query engine (e.g. to answer one query with many rows). */
    wrapEngine?: (engine: QueryEngine, index: number) => QueryEngine;
  } = {},
): Promise<OsquerydStandin[]> {
  const hosts: OsquerydStandin[] = [];
  const templates = opts.templates ?? ['ubuntu'];
  for (let i = 0; i < count; i++) {
    const profile = makeHostProfile(templates[i % templates.length] ?? 'ubuntu', `e2e-${srv.port}-${i}`);
    const base = createDefaultQueryEngine(profile);
    const failing = opts.failing?.includes(i) === true;
    const failOrAnswer: QueryEngine = (sql) => (failing && !sql.includes('mimir_') ? { status: 1, message: 'no such table: e2e_failure', rows: [] } : base(sql));
    const engine = opts.wrapEngine?.(failOrAnswer, i) ?? failOrAnswer;
    const h = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile, queryEngine: engine, sleep: () => Promise.resolve() });
    const r = await h.enroll();
    if (!r.ok) throw new Error(`stand-in host ${i} failed to enroll: ${r.error}`);
    hosts.push(h);
  }
  const interval = opts.intervalMs ?? 500;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      await Promise.all(hosts.map((h) => h.runDistributedOnce().catch(() => undefined)));
      await new Promise((r) => setTimeout(r, interval));
    }
  };
  const running = loop();
  t.after(async () => {
    stopped = true;
    await running;
    await Promise.all(hosts.map((h) => h.close()));
  });
  return hosts;
}
