/**
 * The console is served at `/` by the same HTTPS server: deep links get index.html (with its CSP),
 * hashed assets are cached for good, and API paths never fall back to the HTML page.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { registerWebConsole } from './web.plugin.js';

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  return `${dir}/`;
}

describe('web console serving', () => {
  it('serves index.html for deep links and the root, assets with an immutable cache, JSON 404 for API paths', async (t) => {
    const dir = fakeBuild();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const app = Fastify();
    await registerWebConsole(app, dir);
    t.after(() => app.close());

    for (const url of ['/', '/hosts/42', '/settings/osquery-updates?tab=1']) {
      const r = await app.inject({ method: 'GET', url });
      assert.equal(r.statusCode, 200, url);
      assert.match(r.headers['content-type'] as string, /text\/html/);
      assert.match(r.body, /id="root"/);
      assert.match(r.headers['content-security-policy'] as string, /script-src 'self'/);
      assert.equal(r.headers['cache-control'], 'no-cache');
    }
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['cache-control'] as string, /immutable/);

    for (const [method, url] of [['GET', '/api/v1/nope'], ['GET', '/api'], ['GET', '/assets/missing.js'], ['POST', '/hosts'], ['DELETE', '/']] as const) {
      const r = await app.inject({ method, url });
      assert.equal(r.statusCode, 404, `${method} ${url}`);
      assert.equal((r.json<{ error: { code: string } }>()).error.code, 'not_found');
    }
  });

  it('says how to build the console when there is no build', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mimir-web-empty-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const app = Fastify();
    await registerWebConsole(app, `${dir}/`);
    t.after(() => app.close());
    const r = await app.inject({ method: 'GET', url: '/hosts' });
    assert.equal(r.statusCode, 200);
    assert.match(r.body, /npm run build/);
  });
});
