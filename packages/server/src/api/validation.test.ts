/**
 * Strict request bodies (issue #4 "Every route schema-validated"): an unknown field or a value of
 * the wrong type is a 400 naming the field and stores nothing; querystrings keep coercion because
 * everything in a URL is a string.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Group, PackSaved } from '@mimir/api-contract';
import { api, apiUser, rawRequest, startServer } from '../../test/helper.js';

interface ErrorAnswer {
  error: { code: string; message: string; details?: Array<{ path: string; message: string }> };
}

function problem(r: { status: number; json: unknown; text: string }): { path: string; message: string; summary: string } {
  assert.equal(r.status, 400, r.text);
  const e = (r.json as ErrorAnswer).error;
  assert.equal(e.code, 'validation_failed');
  const first = e.details?.[0];
  assert.ok(first !== undefined, r.text);
  return { ...first, summary: e.message };
}

/** JSON schema nodes reachable from `node`, with where they sit. */
function* objectSchemas(node: unknown, at: string): Generator<{ at: string; schema: Record<string, unknown> }> {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const [i, x] of node.entries()) yield* objectSchemas(x, `${at}[${i}]`);
    return;
  }
  const o = node as Record<string, unknown>;
  if (o['properties'] !== undefined) yield { at, schema: o };
  for (const [k, v] of Object.entries(o)) yield* objectSchemas(v, `${at}.${k}`);
}

void describe('operator API body validation', () => {
  void it('should refuse an unknown field with a 400 naming it, and store nothing', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const before = await srv.app.store.users.count();
    const r = await admin.call('POST', '/api/v1/users', { email: 'new@example.com', role: 'readonly', password: 'correct horse battery staple', nickname: 'bob' });
    const p = problem(r);
    assert.equal(p.path, '/nickname');
    assert.match(p.message, /unknown field 'nickname'/);
    assert.match(p.summary, /nickname/);
    assert.equal(await srv.app.store.users.count(), before, 'no user created');

    // Nested objects too: a typo inside `targets` is not silently dropped (which would target nobody).
    const live = await admin.call('POST', '/api/v1/live-queries', { sql: 'SELECT 1;', targets: { all: true, host_ids: [1] } });
    assert.equal(problem(live).path, '/targets/host_ids');
    const list = await api<{ items: unknown[] }>(admin, 'GET', '/api/v1/live-queries', undefined, 200);
    assert.equal(list.items.length, 0, 'no live query created');
  });

  void it('should refuse "5" where a number is expected instead of coercing it', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    const tokensBefore = (await api<{ items: unknown[] }>(admin, 'GET', '/api/v1/tokens', undefined, 200)).items.length;
    const p = problem(await admin.call('POST', '/api/v1/tokens', { name: 'ci', expiresInDays: '5' }));
    assert.equal(p.path, '/expiresInDays');
    assert.match(p.message, /integer/);
    assert.equal((await api<{ items: unknown[] }>(admin, 'GET', '/api/v1/tokens', undefined, 200)).items.length, tokensBefore, 'no token created');

    // A boolean stays a boolean: "true" is not true, 1 is not true.
    assert.equal(problem(await admin.call('POST', '/api/v1/groups', { name: 'g1', createSecret: 'false' })).path, '/createSecret');
    assert.equal(problem(await admin.call('POST', '/api/v1/groups', { name: 'g1', createSecret: 0 })).path, '/createSecret');
    // Scalars and lists are not turned into each other.
    assert.equal(problem(await admin.call('POST', '/api/v1/groups/1/hosts', { hostIds: 5 })).path, '/hostIds');
    assert.equal(problem(await admin.call('POST', '/api/v1/users', { email: ['a@example.com'], role: 'readonly', password: 'correct horse battery staple' })).path, '/email');
    // A missing field is named too.
    assert.equal(problem(await admin.call('POST', '/api/v1/tokens', {})).path, '/name');
    assert.equal((await srv.app.store.groups.list()).length, 1, 'no group created');
  });

  void it('should keep numbers, null and lists exactly as sent where a field allows several types', async (t) => {
    const srv = await startServer(t);
    const admin = await apiUser(srv, 'admin');
    // osquery must get 30, not "30"; a string stays a string.
    const g = await api<Group>(admin, 'POST', '/api/v1/groups', { name: 'typed', options: { distributed_interval: 30, custom_note: '30' } }, 201);
    assert.deepEqual(g.options, { distributed_interval: 30, custom_note: '30' });
    // Objects are not options values.
    assert.equal(problem(await admin.call('PATCH', `/api/v1/groups/${g.id}`, { options: { custom_x: { a: 1 } } })).path, '/options/custom_x');

    // null is "every host", not 0; a one-element list stays a list and a scalar stays a scalar.
    const saved = await api<PackSaved>(admin, 'POST', '/api/v1/packs', {
      name: 'typed-pack',
      queries: [{ name: 'q', sql: 'SELECT pid FROM processes;', shard: null, ecsMapping: { 'event.category': { value: ['process'] }, tags: { value: 'x' } } }],
    }, 201);
    const q = saved.pack.queries[0];
    assert.ok(q !== undefined);
    assert.equal(q.shard, null);
    assert.deepEqual(q.ecsMapping, { 'event.category': { value: ['process'] }, tags: { value: 'x' } });
    assert.equal(problem(await admin.call('POST', '/api/v1/packs', { name: 'p2', queries: [{ name: 'q', sql: 'SELECT 1;', shard: '5' }] })).path, '/queries/0/shard');
    assert.equal(problem(await admin.call('POST', '/api/v1/packs', { name: 'p3', queries: [{ name: 'q', sql: 'SELECT 1;', ecsMapping: { tags: { value: { nested: true } } } }] })).path, '/queries/0/ecsMapping/tags/value');
    assert.equal(problem(await admin.call('PUT', '/api/v1/settings/retention', { resultRetentionDays: '30' })).path, '/resultRetentionDays');
    const packs = await api<{ items: Array<{ name: string }> }>(admin, 'GET', '/api/v1/packs', undefined, 200);
    assert.deepEqual(packs.items.map((p) => p.name), ['typed-pack']);
  });

  void it('should still coerce querystrings and params, which are strings on the wire', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const page = await api<{ items: unknown[]; nextCursor: string | null }>(reader, 'GET', '/api/v1/hosts?limit=5&duplicateIdentifier=false', undefined, 200);
    assert.deepEqual(page.items, []);
    assert.equal((await reader.call('GET', '/api/v1/hosts?limit=abc')).status, 400);
    assert.equal((await reader.call('GET', '/api/v1/groups/1')).status, 200);
  });

  void it('should declare every request body closed, so no unknown field can slip through', async (t) => {
    const srv = await startServer(t);
    const docs = await rawRequest(srv, '/api/docs/json', { method: 'GET' });
    assert.equal(docs.status, 200);
    const paths = (docs.json as { paths: Record<string, Record<string, { requestBody?: unknown }>> }).paths;
    let bodies = 0;
    const open: string[] = [];
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (op.requestBody === undefined) continue;
        bodies++;
        for (const { at, schema } of objectSchemas(op.requestBody, `${method.toUpperCase()} ${path}`)) {
          if (schema['additionalProperties'] !== false) open.push(at);
        }
      }
    }
    assert.ok(bodies >= 25, `found ${bodies} request bodies`);
    assert.deepEqual(open, []);
  });
});
