/**
 * The queries area over real HTTPS (test/helper.ts): saved queries (seed 004 "Save queries") with
 * validation, search, pages, permissions and audit; prebuilt queries; inline SQL validation; the
 * osquery schema for autocomplete; the ECS field picker; and a saved query run on the osqueryd
 * stand-in with its ECS mapping applied through the hub.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OsquerydStandin, makeHostProfile } from '@mimir/osquery-protocol/standin';
import type { DistributedResult } from '@mimir/osquery-protocol';
import { api, apiUser, rawRequest, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';

interface SavedQueryBody {
  id: number;
  name: string;
  description: string;
  sql: string;
  timeout: number;
  ecsMapping: Record<string, { field?: string; value?: unknown }>;
  interval: number;
  minOsqueryVersion: string;
  platform: string;
  prebuilt: boolean;
  tables: string[];
  warnings: Array<{ code: string; message: string; table?: string }>;
  errors: Array<{ code: string; message: string }>;
  createdAt: string;
  updatedAt: string;
  createdBy: string | null;
  updatedBy: string | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
interface ErrorResponse {
  error: { code: string; message: string; details?: Array<{ path: string; message: string; code?: string; field?: string; position?: { line: number; column: number } }> };
}

const VALID = {
  name: 'suid_binaries',
  description: 'Set-uid binaries in /usr/bin',
  sql: "SELECT path, mode, uid FROM file WHERE directory = '/usr/bin' AND mode LIKE '4%'",
  timeout: 120,
  ecsMapping: { 'file.path': { field: 'path' }, 'file.mode': { field: 'mode' }, 'event.category': { value: ['file'] } },
  platform: 'linux',
};

async function savedCount(srv: TestServer): Promise<number> {
  return (await srv.app.store.savedQueries.list({ limit: 10_000 })).length;
}

async function auditActions(srv: TestServer): Promise<string[]> {
  return (await srv.app.store.audit.list({ limit: 100 })).map((a) => a.action).reverse();
}

async function setup(t: Parameters<typeof startServer>[0]): Promise<{ srv: TestServer; op: ApiCaller; ro: ApiCaller }> {
  const srv = await startServer(t);
  return { srv, op: await apiUser(srv, 'operator'), ro: await apiUser(srv, 'readonly') };
}

void describe('saved queries API', () => {
  void it('should create, get, list, update, copy and delete a saved query, with audit', async (t) => {
    const { srv, op } = await setup(t);
    const created = await api<SavedQueryBody>(op, 'POST', '/api/v1/queries', VALID, 201);
    assert.equal(created.name, 'suid_binaries');
    assert.equal(created.timeout, 120);
    assert.equal(created.interval, 3600, 'pack default interval');
    assert.equal(created.prebuilt, false);
    assert.deepEqual(created.tables, ['file']);
    assert.deepEqual(created.warnings, []);
    assert.equal(created.createdBy, op.email);
    assert.deepEqual(created.ecsMapping, VALID.ecsMapping);

    const got = await api<SavedQueryBody>(op, 'GET', `/api/v1/queries/${created.id}`, undefined, 200);
    assert.deepEqual(got, created);

    const changed = await api<SavedQueryBody>(op, 'PATCH', `/api/v1/queries/${created.id}`, { description: 'changed', platform: 'darwin,linux' }, 200);
    assert.equal(changed.description, 'changed');
    assert.equal(changed.sql, VALID.sql, 'fields not sent stay');
    assert.equal(changed.platform, 'darwin,linux');

    const copy = await api<SavedQueryBody>(op, 'POST', `/api/v1/queries/${created.id}/copy`, {}, 201);
    assert.equal(copy.name, 'suid_binaries_copy');
    assert.equal(copy.sql, VALID.sql);

    await api(op, 'DELETE', `/api/v1/queries/${copy.id}`, undefined, 200);
    await api(op, 'GET', `/api/v1/queries/${copy.id}`, undefined, 404);
    const actions = (await auditActions(srv)).filter((a) => a.startsWith('saved_query.'));
    assert.deepEqual(actions, ['saved_query.create', 'saved_query.update', 'saved_query.copy', 'saved_query.delete']);
    const entries = await srv.app.store.audit.list({ limit: 10, action: 'saved_query.update' });
    const entry = entries[0];
    assert.ok(entry !== undefined);
    assert.equal(entry.target_id, String(created.id));
    assert.deepEqual(JSON.parse(entry.details), { name: 'suid_binaries', changed: ['description', 'platform'] });
  });

  void it('should return warnings with the query and keep them out of the way of saving', async (t) => {
    const { op } = await setup(t);
    const q = await api<SavedQueryBody>(op, 'POST', '/api/v1/queries', { name: 'apps_everywhere', sql: 'SELECT name FROM apps', platform: 'linux,darwin' }, 201);
    assert.deepEqual(q.warnings.map((w) => [w.code, w.table]), [['table_platform', 'apps']]);
    const evented = await api<SavedQueryBody>(op, 'POST', '/api/v1/queries', { name: 'file_changes', sql: 'SELECT target_path, action FROM file_events' }, 201);
    assert.deepEqual(evented.warnings.map((w) => w.code), ['evented_table']);
  });

  void it('should refuse bad input with stable codes and field details, storing nothing', async (t) => {
    const { srv, op } = await setup(t);
    const before = await savedCount(srv);
    await api(op, 'POST', '/api/v1/queries', VALID, 201);

    const dup = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, description: 'same name' }, 409);
    assert.equal(dup.error.code, 'conflict');

    for (const timeout of [59, 901, 1.5]) {
      const r = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'x_timeout', timeout }, 400);
      assert.equal(r.error.code, 'validation_failed');
      assert.ok(r.error.details?.some((d) => d.path === '/timeout'), JSON.stringify(r.error.details));
    }
    const badName = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'has space' }, 400);
    assert.ok(badName.error.details?.some((d) => d.path === '/name'));
    await api(op, 'POST', '/api/v1/queries', { ...VALID, name: 'no_sql', sql: '' }, 400);

    const sql = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'bad_sql', sql: 'SELECT p.nme\nFROM processes p JOIN nosuch_table', ecsMapping: {} }, 422);
    assert.equal(sql.error.code, 'validation_failed');
    assert.deepEqual(sql.error.details?.map((d) => [d.path, d.code]), [['/sql', 'unknown_table'], ['/sql', 'unknown_column']]);
    assert.deepEqual(sql.error.details[0]?.position, { offset: 35, line: 2, column: 23 });
    const syntax = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'bad_syntax', sql: 'SELECT * FORM processes' }, 422);
    assert.equal(syntax.error.details?.[0]?.code, 'syntax_error');
    const required = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'all_files', sql: 'SELECT * FROM file', ecsMapping: {} }, 422);
    assert.equal(required.error.details?.[0]?.code, 'missing_required_constraint');

    const mapping = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', {
      ...VALID,
      name: 'bad_mapping',
      ecsMapping: {
        'host.name': { field: 'path' },
        'file.path': { field: 'nosuch' },
        'event.category': { value: ['bogus'] },
        'file.size': { value: 'big' },
        'file.mode': { field: 'mode', value: '1' },
        'not.a.field': { value: 'x' },
      },
    }, 422);
    assert.deepEqual(mapping.error.details?.map((d) => [d.path, d.code, d.field]), [
      ['/ecsMapping/host.name', 'restricted_field', 'host.name'],
      ['/ecsMapping/file.path', 'unknown_column', 'file.path'],
      ['/ecsMapping/event.category', 'value_not_allowed', 'event.category'],
      ['/ecsMapping/file.size', 'wrong_type', 'file.size'],
      ['/ecsMapping/file.mode', 'invalid_entry', 'file.mode'],
      ['/ecsMapping/not.a.field', 'unknown_field', 'not.a.field'],
    ]);
    const other = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'x_epoch_counter', interval: 0, minOsqueryVersion: 'five', platform: 'plan9' }, 400);
    assert.ok(other.error.details?.some((d) => d.path === '/interval'));
    const semantic = await api<ErrorResponse>(op, 'POST', '/api/v1/queries', { ...VALID, name: 'q_counter', minOsqueryVersion: 'five', platform: 'plan9' }, 422);
    assert.deepEqual(semantic.error.details?.map((d) => d.path), ['/name', '/minOsqueryVersion', '/platform']);

    assert.equal(await savedCount(srv), before + 1, 'only the first, valid query was stored');
    await api(op, 'GET', '/api/v1/queries/999999', undefined, 404);
    await api(op, 'PATCH', '/api/v1/queries/999999', { description: 'x' }, 404);
    await api(op, 'DELETE', '/api/v1/queries/999999', undefined, 404);
    await api(op, 'GET', '/api/v1/queries/abc', undefined, 400);
  });

  void it('should keep a failed update from changing anything, and refuse renaming onto a taken name', async (t) => {
    const { srv, op } = await setup(t);
    const a = await api<SavedQueryBody>(op, 'POST', '/api/v1/queries', VALID, 201);
    await api(op, 'POST', '/api/v1/queries', { ...VALID, name: 'other_query' }, 201);
    await api(op, 'PATCH', `/api/v1/queries/${a.id}`, { sql: 'SELECT * FROM nowhere', description: 'lost' }, 422);
    await api(op, 'PATCH', `/api/v1/queries/${a.id}`, { name: 'other_query' }, 409);
    await api(op, 'PATCH', `/api/v1/queries/${a.id}`, { timeout: 5 }, 400);
    const after = await api<SavedQueryBody>(op, 'GET', `/api/v1/queries/${a.id}`, undefined, 200);
    assert.deepEqual(after, a);
    // A stored query that the schema no longer accepts (e.g. after an upgrade) shows why.
    await srv.app.store.savedQueries.update(a.id, { sql: 'SELECT * FROM alf_services' });
    const broken = await api<SavedQueryBody>(op, 'GET', `/api/v1/queries/${a.id}`, undefined, 200);
    assert.deepEqual(broken.errors.map((e) => e.code), ['unknown_table']);
    // A mapping must fit the new SQL: the old mapping names a column the new SQL no longer returns.
    const r = await api<ErrorResponse>(op, 'PATCH', `/api/v1/queries/${a.id}`, { sql: "SELECT path FROM file WHERE path = '/etc/hosts'" }, 422);
    assert.deepEqual(r.error.details?.map((d) => d.path), ['/ecsMapping/file.mode']);
  });

  void it('should search and page through saved queries by name', async (t) => {
    const { op } = await setup(t);
    for (const n of ['a_one', 'a_two', 'a_three', 'b_other']) {
      await api(op, 'POST', '/api/v1/queries', { name: n, sql: `SELECT pid AS ${n} FROM processes`, description: n === 'b_other' ? 'special words' : '' }, 201);
    }
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<SavedQueryBody> = await api<Page<SavedQueryBody>>(op, 'GET', `/api/v1/queries?prebuilt=false&limit=2${cursor !== null ? `&cursor=${cursor}` : ''}`, undefined, 200);
      assert.ok(page.items.length <= 2);
      names.push(...page.items.map((q) => q.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(names, ['a_one', 'a_three', 'a_two', 'b_other']);
    const found = await api<Page<SavedQueryBody>>(op, 'GET', '/api/v1/queries?q=special', undefined, 200);
    assert.deepEqual(found.items.map((q) => q.name), ['b_other']);
    const bySql = await api<Page<SavedQueryBody>>(op, 'GET', '/api/v1/queries?q=AS%20a_t', undefined, 200);
    assert.deepEqual(bySql.items.map((q) => q.name), ['a_three', 'a_two']);
    const literal = await api<Page<SavedQueryBody>>(op, 'GET', '/api/v1/queries?q=a%25', undefined, 200);
    assert.deepEqual(literal.items, [], '% is taken literally');
  });

  void it('should ship read-only prebuilt queries with ECS mappings, changeable through a copy', async (t) => {
    const { srv, op } = await setup(t);
    const page = await api<Page<SavedQueryBody>>(op, 'GET', '/api/v1/queries?prebuilt=true', undefined, 200);
    const names = page.items.map((q) => q.name);
    for (const n of ['users_linux_mimir', 'processes_mimir', 'listening_ports_mimir', 'installed_programs_windows_mimir']) assert.ok(names.includes(n), n);
    assert.ok(page.items.every((q) => q.prebuilt && q.createdBy === null && Object.keys(q.ecsMapping).length > 0 && q.warnings.length === 0 && q.errors.length === 0));
    const users = page.items.find((q) => q.name === 'users_linux_mimir');
    assert.ok(users !== undefined);
    assert.deepEqual(users.ecsMapping['user.name'], { field: 'username' });

    const ro = await api<ErrorResponse>(op, 'PATCH', `/api/v1/queries/${users.id}`, { description: 'mine now' }, 409);
    assert.equal(ro.error.code, 'read_only');
    await api(op, 'DELETE', `/api/v1/queries/${users.id}`, undefined, 409);
    const copy = await api<SavedQueryBody>(op, 'POST', `/api/v1/queries/${users.id}/copy`, { name: 'users_linux_mine' }, 201);
    assert.equal(copy.prebuilt, false);
    await api(op, 'PATCH', `/api/v1/queries/${copy.id}`, { description: 'mine now' }, 200);

    // A restart keeps them once each, and brings an edited prebuilt row back to its definition.
    await srv.app.store.savedQueries.update(users.id, { description: 'tampered' });
    await srv.stop();
    const restarted = await startServer(t, { dataDir: srv.dataDir });
    const again = await restarted.app.store.savedQueries.listPrebuilt();
    assert.equal(again.length, page.items.length);
    assert.equal(again.find((q) => q.name === 'users_linux_mimir')?.description, users.description);
  });

  void it('should let read-only users look but not change, and check permissions per route', async (t) => {
    const { srv, op, ro } = await setup(t);
    const q = await api<SavedQueryBody>(op, 'POST', '/api/v1/queries', VALID, 201);
    await api(ro, 'GET', '/api/v1/queries', undefined, 200);
    await api(ro, 'GET', `/api/v1/queries/${q.id}`, undefined, 200);
    await api(ro, 'POST', '/api/v1/queries/validate', { sql: 'SELECT 1' }, 200);
    await api(ro, 'GET', '/api/v1/schema/osquery', undefined, 200);
    await api(ro, 'GET', '/api/v1/ecs/fields', undefined, 200);
    await api(ro, 'POST', '/api/v1/queries', { ...VALID, name: 'ro_try' }, 403);
    await api(ro, 'PATCH', `/api/v1/queries/${q.id}`, { description: 'x' }, 403);
    await api(ro, 'DELETE', `/api/v1/queries/${q.id}`, undefined, 403);
    await api(ro, 'POST', `/api/v1/queries/${q.id}/copy`, {}, 403);
    const anonymous = await rawRequest(srv, '/api/v1/queries', { method: 'GET' });
    assert.equal(anonymous.status, 401);
    // Every route is documented at /api/docs with its tag and summary.
    const docs = await rawRequest(srv, '/api/docs/json', { method: 'GET' });
    const paths = (docs.json as { paths: Record<string, Record<string, { tags?: string[]; summary?: string }>> }).paths;
    for (const [path, method, tag] of [['/api/v1/queries', 'post', 'queries'], ['/api/v1/queries/validate', 'post', 'queries'], ['/api/v1/queries/{id}', 'patch', 'queries'], ['/api/v1/schema/osquery', 'get', 'osquery'], ['/api/v1/ecs/fields', 'get', 'ecs']] as const) {
      const op = paths[path]?.[method];
      assert.ok(op?.tags?.includes(tag) === true && (op.summary ?? '') !== '', `${method} ${path} is documented`);
    }
    const routes = srv.app.apiRoutes.filter((r) => /\/(queries|schema\/osquery|ecs)/.test(r.url));
    assert.deepEqual(
      routes.map((r) => `${r.method} ${r.url} ${r.permission ?? ''}`).sort(),
      [
        'DELETE /api/v1/queries/:id queries:write',
        'GET /api/v1/ecs/fields queries:read',
        'GET /api/v1/queries queries:read',
        'GET /api/v1/queries/:id queries:read',
        'GET /api/v1/schema/osquery queries:read',
        'PATCH /api/v1/queries/:id queries:write',
        'POST /api/v1/queries queries:write',
        'POST /api/v1/queries/:id/copy queries:write',
        'POST /api/v1/queries/validate queries:read',
      ],
    );
  });
});

void describe('SQL validation, schema and ECS field API', () => {
  void it('should validate SQL inline with positions, platforms, columns and an optional ECS mapping', async (t) => {
    const { ro } = await setup(t);
    const ok = await api<{ valid: boolean; tables: string[]; platforms: string[]; columns: string[] | null }>(
      ro, 'POST', '/api/v1/queries/validate', { sql: 'SELECT name, bundle_identifier FROM apps' }, 200);
    assert.deepEqual(ok, { valid: true, errors: [], warnings: [], tables: ['apps'], platforms: ['darwin'], columns: ['name', 'bundle_identifier'] });
    const bad = await api<{ valid: boolean; errors: Array<{ code: string; position?: { line: number; column: number } }>; warnings: Array<{ code: string }> }>(
      ro, 'POST', '/api/v1/queries/validate', { sql: 'SELECT name FROM apps WHERE nme = 1', platforms: ['windows'], ecsMapping: { 'package.name': { field: 'nam' } } }, 200);
    assert.equal(bad.valid, false);
    assert.deepEqual(bad.errors.map((e) => e.code), ['unknown_column', 'unknown_column']);
    assert.deepEqual(bad.errors[0]?.position, { offset: 28, line: 1, column: 29 });
    assert.deepEqual(bad.warnings.map((w) => w.code), ['table_platform']);
  });

  void it('should serve the osquery schema for autocomplete with cache headers and a platform filter', async (t) => {
    const { srv, ro } = await setup(t);
    const r = await ro.call('GET', '/api/v1/schema/osquery');
    assert.equal(r.status, 200);
    const body = r.json as { version: string; tables: Array<{ name: string; platforms: string[]; evented: boolean; columns: Array<{ name: string; hidden: boolean; required: boolean; platforms?: string[] }> }> };
    assert.equal(body.version, '5.23.1');
    assert.equal(body.tables.length, 286);
    const file = body.tables.find((x) => x.name === 'file');
    assert.deepEqual(file?.columns.filter((c) => c.required).map((c) => c.name), ['path', 'directory']);
    assert.match(String(r.headers['cache-control']), /max-age=3600/);
    const etag = String(r.headers['etag']);
    assert.match(etag, /^".+"$/);

    const again = await rawRequest(srv, '/api/v1/schema/osquery', { method: 'GET', headers: { authorization: `Bearer ${ro.token}`, 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');

    const windows = await api<typeof body>(ro, 'GET', '/api/v1/schema/osquery?platform=windows', undefined, 200);
    assert.equal(windows.tables.length, 115);
    const processes = windows.tables.find((x) => x.name === 'processes');
    assert.ok(processes?.columns.some((c) => c.name === 'elevated_token'));
    assert.ok(!processes?.columns.some((c) => c.name === 'cgroup_path'), 'linux-only column left out');
    await api(ro, 'GET', '/api/v1/schema/osquery?platform=beos', undefined, 400);
  });

  void it('should list mappable ECS fields for the picker, searchable and paged', async (t) => {
    const { ro } = await setup(t);
    const first = await api<{ version: string } & Page<{ name: string; type: string; array: boolean; allowedValues?: string[] }>>(ro, 'GET', '/api/v1/ecs/fields?q=event.&limit=5', undefined, 200);
    assert.equal(first.version, '9.4.0');
    assert.equal(first.items.length, 5);
    assert.ok(first.items.every((f) => f.name.startsWith('event.')));
    assert.ok(first.nextCursor !== null);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<{ name: string; allowedValues?: string[] }> = await api(ro, 'GET', `/api/v1/ecs/fields?q=event.&limit=10${cursor !== null ? `&cursor=${cursor}` : ''}`, undefined, 200);
      all.push(...page.items.map((f) => f.name));
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.ok(all.includes('event.category'));
    assert.equal(new Set(all).size, all.length);
    const category = await api<Page<{ name: string; allowedValues?: string[]; array: boolean }>>(ro, 'GET', '/api/v1/ecs/fields?q=event.category', undefined, 200);
    assert.ok(category.items[0]?.allowedValues?.includes('process'));
    assert.equal(category.items[0]?.array, true);
    const host = await api<Page<{ name: string }>>(ro, 'GET', '/api/v1/ecs/fields?q=host.&limit=1000', undefined, 200);
    assert.ok(host.items.every((f) => !f.name.startsWith('host.')), 'restricted fields are not offered');
  });
});

void describe('queries area on the hub', () => {
  void it('should publish the SQL validator and applyEcs, and map a saved query\'s results from the osqueryd stand-in', async (t) => {
    const { srv, ro } = await setup(t);
    const hub = srv.app.core.hub;
    assert.ok(hub.sqlValidator !== undefined && hub.applyEcs !== undefined);
    assert.deepEqual(hub.sqlValidator.validate('SELECT * FROM nope').errors.map((e) => e.message), ['no such table: nope']);

    const os = new OsquerydStandin({ tlsHostname: srv.tlsHostname, ca: srv.ca, enrollSecret: srv.secret, profile: makeHostProfile('ubuntu', 7), sleep: () => Promise.resolve() });
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const host = await srv.app.services.cache.authenticate(await os.getNodeKey());
    assert.ok(host !== undefined);

    const page = await api<Page<SavedQueryBody>>(ro, 'GET', '/api/v1/queries?q=users_linux_mimir', undefined, 200);
    const saved = page.items[0];
    assert.ok(saved !== undefined);
    const results: DistributedResult[] = [];
    srv.app.core.distributed.on('result', (_hostId, result) => results.push(result));
    await srv.app.core.distributed.enqueue([{ hostId: host.id, name: 'saved_users', sql: saved.sql, source: 'test' }], Date.now());
    await os.runDistributedOnce();
    await os.runDistributedOnce();
    const answer = results.find((r) => r.id === 'saved_users');
    assert.ok(answer !== undefined, 'the stand-in answered the saved query');
    assert.equal(answer.status, 0, answer.message);
    const row = answer.rows[0];
    assert.ok(row !== undefined);
    const doc = hub.applyEcs(saved.ecsMapping as Parameters<typeof hub.applyEcs>[0], row);
    assert.deepEqual(doc['osquery'], row);
    assert.deepEqual((doc['user'] as Record<string, unknown>)['name'], row['username']);
    assert.equal((doc['user'] as Record<string, unknown>)['id'], row['uid'], 'user.id is an ECS keyword: kept as text');
    assert.deepEqual((doc['event'] as Record<string, unknown>)['category'], ['iam']);
  });
});
