/**
 * Users, roles and access (issue #4): setup, sessions with CSRF, API tokens, users, audit log, and
 * the RBAC matrix over every operator route.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { can, type Permission } from '../../auth/permissions.js';
import { api, apiUser, databaseEnv, rawRequest, startServer, tempDir, type RawResponse, type TestRole, type TestServer } from '../../../test/helper.js';

const PASSWORD = 'correct horse battery staple';

function cookieOf(r: RawResponse): string {
  const set = r.headers['set-cookie'];
  const first = Array.isArray(set) ? set[0] : set;
  assert.ok(first !== undefined, 'a cookie is set');
  return first;
}

async function login(srv: TestServer, email: string, password = PASSWORD) {
  const r = await rawRequest(srv, '/api/v1/session', { method: 'POST', body: JSON.stringify({ email, password }) });
  return r;
}

function withCookie(srv: TestServer, cookie: string, method: string, path: string, body?: unknown, csrf?: string) {
  const headers: Record<string, string> = { cookie: cookie.split(';')[0] ?? '' };
  if (csrf !== undefined) headers['x-csrf-token'] = csrf;
  return rawRequest(srv, path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
}

void describe('operator auth', () => {
  void it('should create the first admin once through setup', async (t) => {
    const srv = await startServer(t);
    assert.deepEqual((await rawRequest(srv, '/api/v1/setup', { method: 'GET' })).json, { needsSetup: true });
    const bad = await rawRequest(srv, '/api/v1/setup', { method: 'POST', body: JSON.stringify({ email: 'not-an-email', password: 'short' }) });
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, 'validation_failed');
    assert.equal(await srv.app.store.users.count(), 0);
    const ok = await rawRequest(srv, '/api/v1/setup', { method: 'POST', body: JSON.stringify({ email: 'Admin@Example.com', password: PASSWORD }) });
    assert.equal(ok.status, 201, ok.text);
    const again = await rawRequest(srv, '/api/v1/setup', { method: 'POST', body: JSON.stringify({ email: 'other@example.com', password: PASSWORD }) });
    assert.equal(again.status, 409);
    assert.deepEqual((await rawRequest(srv, '/api/v1/setup', { method: 'GET' })).json, { needsSetup: false });
    const entries = await srv.app.store.audit.list({ limit: 10 });
    assert.ok(entries.some((e) => e.action === 'setup.complete' && e.actor_email === 'admin@example.com'));
  });

  void it('should sign in with an httpOnly SameSite cookie and require the CSRF token on changes', async (t) => {
    const srv = await startServer(t);
    await srv.app.core.auth.setup({ email: 'admin@example.com', password: PASSWORD }, Date.now());
    const r = await login(srv, 'ADMIN@example.com');
    assert.equal(r.status, 200, r.text);
    const cookie = cookieOf(r);
    assert.match(cookie, /mimir_session=/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /SameSite=Strict/);
    const { csrfToken } = r.json as { csrfToken: string };

    const me = await withCookie(srv, cookie, 'GET', '/api/v1/session');
    assert.equal(me.status, 200);
    assert.equal((me.json as { user: { email: string } }).user.email, 'admin@example.com');

    const body = { email: 'op@example.com', role: 'operator', password: PASSWORD };
    const noCsrf = await withCookie(srv, cookie, 'POST', '/api/v1/users', body);
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.text, /CSRF/);
    assert.equal(await srv.app.store.users.count(), 1, 'nothing created without the CSRF token');
    const wrongCsrf = await withCookie(srv, cookie, 'POST', '/api/v1/users', body, 'x'.repeat(43));
    assert.equal(wrongCsrf.status, 403);
    const created = await withCookie(srv, cookie, 'POST', '/api/v1/users', body, csrfToken);
    assert.equal(created.status, 201, created.text);

    const out = await withCookie(srv, cookie, 'DELETE', '/api/v1/session', undefined, csrfToken);
    assert.equal(out.status, 200);
    assert.equal((await withCookie(srv, cookie, 'GET', '/api/v1/session')).status, 401, 'the session is revoked');
    const actions = (await srv.app.store.audit.list({ limit: 20 })).map((e) => e.action);
    for (const a of ['user.login', 'user.create', 'user.logout']) assert.ok(actions.includes(a), a);
  });

  void it('should refuse bad passwords, audit them, and throttle per account', async (t) => {
    const srv = await startServer(t);
    await srv.app.core.auth.setup({ email: 'admin@example.com', password: PASSWORD }, Date.now());
    const wrong = await login(srv, 'admin@example.com', 'wrong password!!');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['set-cookie'], undefined);
    const unknown = await login(srv, 'nobody@example.com', 'whatever password');
    assert.equal(unknown.status, 401);
    assert.equal((wrong.json as { error: { message: string } }).error.message, (unknown.json as { error: { message: string } }).error.message, 'no account enumeration');
    let limited: RawResponse | undefined;
    for (let i = 0; i < 12 && limited === undefined; i++) {
      const r = await login(srv, 'admin@example.com', 'wrong password!!');
      if (r.status === 429) limited = r;
    }
    assert.ok(limited, 'throttled after repeated failures');
    assert.match(String(limited.headers['retry-after']), /^\d+$/);
    // Even the right password waits out the window.
    assert.equal((await login(srv, 'admin@example.com')).status, 429);
    const failed = (await srv.app.store.audit.list({ limit: 50, action: 'user.login_failed' })).length;
    assert.ok(failed >= 3);
  });

  void it('should expire idle sessions', async (t) => {
    let clock = Date.now();
    const srv = await startServer(t, { overrides: { now: () => clock } });
    await srv.app.core.auth.setup({ email: 'admin@example.com', password: PASSWORD }, clock);
    const cookie = cookieOf(await login(srv, 'admin@example.com'));
    assert.equal((await withCookie(srv, cookie, 'GET', '/api/v1/session')).status, 200);
    clock += 2 * 3600 * 1000; // idle timeout in tests: 1 h
    assert.equal((await withCookie(srv, cookie, 'GET', '/api/v1/session')).status, 401);
  });
});

void describe('API tokens', () => {
  void it('should show a token once, authenticate with it, and stop after revocation or expiry', async (t) => {
    let clock = Date.now();
    const srv = await startServer(t, { overrides: { now: () => clock } });
    const admin = await apiUser(srv, 'admin');
    const created = await api<{ token: string; apiToken: { id: number; prefix: string; role: string } }>(admin, 'POST', '/api/v1/tokens', { name: 'ci', expiresInDays: 1 }, 201);
    assert.match(created.token, /^mimir_/);
    assert.ok(created.token.startsWith(created.apiToken.prefix));
    const listed = await api<{ items: Array<Record<string, unknown>> }>(admin, 'GET', '/api/v1/tokens', undefined, 200);
    assert.ok(!JSON.stringify(listed).includes(created.token), 'the token itself is never listed');
    const bearer = (path: string) => rawRequest(srv, path, { method: 'GET', headers: { authorization: `Bearer ${created.token}` } });
    assert.equal((await bearer('/api/v1/users')).status, 200);
    clock += 2 * 86_400_000;
    assert.equal((await bearer('/api/v1/users')).status, 401, 'expired');

    const second = await api<{ token: string; apiToken: { id: number } }>(admin, 'POST', '/api/v1/tokens', { name: 'forever' }, 201);
    assert.equal((await rawRequest(srv, '/api/v1/users', { method: 'GET', headers: { authorization: `Bearer ${second.token}` } })).status, 200);
    await api(admin, 'DELETE', `/api/v1/tokens/${second.apiToken.id}`, undefined, 200);
    assert.equal((await rawRequest(srv, '/api/v1/users', { method: 'GET', headers: { authorization: `Bearer ${second.token}` } })).status, 401);
    assert.equal((await rawRequest(srv, '/api/v1/users', { method: 'GET', headers: { authorization: 'Bearer mimir_not-a-real-token' } })).status, 401);
  });

  void it('should cap a token at its owner role, now and after a demotion', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const ro = await apiUser(srv, 'readonly');
    assert.equal((await ro.call('POST', '/api/v1/tokens', { name: 'x', role: 'admin' })).status, 403);
    const second = await apiUser(srv, 'admin');
    const { token } = await api<{ token: string }>(second, 'POST', '/api/v1/tokens', { name: 'admin token' }, 201);
    const viaToken = () => rawRequest(srv, '/api/v1/users', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    assert.equal((await viaToken()).status, 200);
    // The owner is demoted: the token's effective role drops with them.
    await api(admin, 'PATCH', `/api/v1/users/${second.userId}`, { role: 'readonly' }, 200);
    assert.equal((await viaToken()).status, 403);
    // The last active admin cannot be demoted.
    await api(admin, 'PATCH', `/api/v1/users/${admin.userId}`, { role: 'readonly' }, 422);
  });
});

void describe('users', () => {
  void it('should manage users and keep at least one active admin', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const bad = await admin.call('POST', '/api/v1/users', { email: 'x@example.com', role: 'superuser', password: PASSWORD });
    assert.equal(bad.status, 400);
    const u = await api<{ id: number; role: string }>(admin, 'POST', '/api/v1/users', { email: 'Op@Example.com', role: 'operator', password: PASSWORD }, 201);
    assert.equal((await admin.call('POST', '/api/v1/users', { email: 'op@example.com', role: 'operator', password: PASSWORD })).status, 409);
    const patched = await api<{ role: string }>(admin, 'PATCH', `/api/v1/users/${u.id}`, { role: 'readonly' }, 200);
    assert.equal(patched.role, 'readonly');
    assert.equal((await admin.call('PATCH', `/api/v1/users/${admin.userId}`, { disabled: true })).status, 422);
    assert.equal((await admin.call('DELETE', `/api/v1/users/${admin.userId}`)).status, 422);
    assert.equal((await admin.call('GET', '/api/v1/users/999999')).status, 404);

    // Disabling a user ends their sessions and tokens.
    const victim = await apiUser(srv, 'operator');
    assert.equal((await victim.call('GET', '/api/v1/session')).status, 200);
    await api(admin, 'PATCH', `/api/v1/users/${victim.userId}`, { disabled: true }, 200);
    assert.equal((await victim.call('GET', '/api/v1/session')).status, 401);
    await api(admin, 'DELETE', `/api/v1/users/${u.id}`, undefined, 200);
    assert.equal((await admin.call('GET', `/api/v1/users/${u.id}`)).status, 404);
  });

  void it('should page through users with a cursor', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    for (let i = 0; i < 5; i++) await apiUser(srv, 'readonly', `u${i}@example.com`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page: { items: Array<{ email: string }>; nextCursor: string | null } = await api(admin, 'GET', `/api/v1/users?limit=2${q}`, undefined, 200);
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((x) => x.email));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.equal(seen.length, 6);
    assert.equal(new Set(seen).size, 6);
  });
});

void describe('audit log', () => {
  void it('should record admin actions with who, what, when and where, searchable and paginated', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    for (let i = 0; i < 4; i++) await api(admin, 'POST', '/api/v1/users', { email: `user${i}@example.com`, role: 'readonly', password: PASSWORD }, 201);
    const page1 = await api<{ items: Array<{ action: string; actorEmail: string; ip: string; at: string; targetType: string }>; nextCursor: string | null }>(admin, 'GET', '/api/v1/audit?limit=3&action=user.create', undefined, 200);
    assert.equal(page1.items.length, 3);
    assert.ok(page1.nextCursor);
    const first = page1.items[0];
    assert.ok(first);
    assert.equal(first.actorEmail, admin.email);
    assert.equal(first.targetType, 'user');
    assert.match(first.ip, /127\.0\.0\.1/);
    assert.ok(!Number.isNaN(Date.parse(first.at)));
    const page2 = await api<{ items: unknown[] }>(admin, 'GET', `/api/v1/audit?limit=3&action=user.create&cursor=${page1.nextCursor}`, undefined, 200);
    assert.equal(page2.items.length, 1);
    const search = await api<{ items: unknown[] }>(admin, 'GET', '/api/v1/audit?q=user2%40example', undefined, 200);
    assert.equal(search.items.length, 1);
    const ro = await apiUser(srv, 'readonly');
    assert.equal((await ro.call('GET', '/api/v1/audit')).status, 403);
  });
});

void describe('RBAC matrix', () => {
  void it('should enforce a declared permission on every operator route for every role', async (t) => {
    const srv = await startServer(t);
    const routes = srv.app.apiRoutes;
    assert.ok(routes.length > 10);
    const undeclared = routes.filter((r) => r.permission === undefined);
    assert.deepEqual(undeclared, [], 'every route declares a permission');
    const callers = { readonly: await apiUser(srv, 'readonly'), operator: await apiUser(srv, 'operator'), admin: await apiUser(srv, 'admin') };
    const failures: string[] = [];
    for (const role of ['readonly', 'operator', 'admin'] as TestRole[]) {
      for (const r of routes) {
        if (r.permission === 'public' || r.url.endsWith('/session') || r.url.includes('revoke-sessions') || r.url.includes('/stream')) continue;
        const path = r.url.replace(/:(\w+)/g, (_, name: string) => (name === 'id' ? '999999' : 'x'.repeat(16)));
        const res = await callers[role].call(r.method, path, r.method === 'GET' || r.method === 'DELETE' ? undefined : {});
        const allowed = r.permission === 'authenticated' || can(role, r.permission as Permission);
        if (allowed && (res.status === 401 || res.status === 403)) failures.push(`${role} ${r.method} ${r.url}: ${res.status} but ${r.permission} is allowed`);
        if (!allowed && res.status !== 403) failures.push(`${role} ${r.method} ${r.url}: ${res.status}, expected 403 (${r.permission})`);
      }
    }
    assert.deepEqual(failures, []);
    // Anonymous callers get 401 on everything but public routes.
    for (const r of routes.filter((x) => x.permission !== 'public')) {
      const path = r.url.replace(/:(\w+)/g, '1');
      const res = await rawRequest(srv, path, { method: r.method, ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { body: '{}' }) });
      assert.equal(res.status, 401, `${r.method} ${r.url}`);
    }
  });
});

void describe('mimir setup', () => {
  const bin = fileURLToPath(new URL('../../bin/mimir.ts', import.meta.url));
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--conditions=mimir-source', '--import', 'tsx', bin, 'setup'], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      input: '',
      encoding: 'utf8',
      timeout: 60_000,
    });

  void it('should create the first admin unattended from the environment, once', async (t) => {
    const dir = tempDir(t);
    const db = await databaseEnv(t, dir); // the database the server below opens (SQLite or PostgreSQL)
    const missing = run({ MIMIR_DATA_DIR: dir, ...db });
    assert.equal(missing.status, 2, missing.stderr);
    assert.match(missing.stderr, /MIMIR_ADMIN_EMAIL/);
    const ok = run({ MIMIR_DATA_DIR: dir, ...db, MIMIR_ADMIN_EMAIL: 'root@example.com', MIMIR_ADMIN_PASSWORD: PASSWORD });
    assert.equal(ok.status, 0, ok.stderr);
    const again = run({ MIMIR_DATA_DIR: dir, ...db, MIMIR_ADMIN_EMAIL: 'root2@example.com', MIMIR_ADMIN_PASSWORD: PASSWORD });
    assert.equal(again.status, 1);
    const srv = await startServer(t, { dataDir: dir });
    assert.equal((await login(srv, 'root@example.com')).status, 200);
  });
});
