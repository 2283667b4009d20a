/**
 * The per-connection node-key memo of the osquery surface: a kept-alive connection (as osquery
 * keeps one) reuses its last authentication, but never for another key and never once the host
 * was deleted or re-keyed: the memo must not outlive the cache entry it points to.
 */
import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import { apiUser, enroll, startServer, type TestServer } from '../../test/helper.js';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  socketPort: number;
}

/** POST a distributed/read on `agent` (one kept-alive socket), key in the header or the body. */
function read(srv: TestServer, agent: Agent, key: string, where: 'header' | 'body'): Promise<Answer> {
  const body = JSON.stringify(where === 'body' ? { node_key: key } : {});
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port: srv.port, path: OSQUERY_ENDPOINTS.distributedRead, method: 'POST', ca: srv.ca, servername: 'localhost', agent,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...(where === 'header' ? { authorization: `NodeKey ${key}` } : {}) },
    }, (res) => {
      // Read now: once the body ends the socket goes back to the agent.
      const socketPort = res.socket.localPort ?? 0;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, socketPort }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

void describe('node-key memo per connection', () => {
  void it('should reuse a connection\'s authentication only for the same key of a host still current', async (t) => {
    const srv = await startServer(t);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => agent.destroy());
    const keyA = await enroll(srv, 'memo-a', 'inst-a');
    const keyB = await enroll(srv, 'memo-b', 'inst-b');

    for (const where of ['header', 'body', 'header'] as const) {
      const r = await read(srv, agent, keyA, where);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(!('node_invalid' in r.body));
    }
    const first = await read(srv, agent, keyA, 'header');
    // Another key on the same connection is looked up on its own: a wrong one fails, a right one works.
    const wrong = await read(srv, agent, `${keyA}x`, 'header');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body['node_invalid'], true);
    assert.equal((await read(srv, agent, `${keyA}x`, 'body')).status, 401);
    assert.equal((await read(srv, agent, keyB, 'header')).status, 200);
    assert.equal((await read(srv, agent, keyA, 'header')).status, 200);

    // Delete host A: its key dies on this very connection at once.
    const hostA = await srv.app.services.cache.authenticate(keyA);
    assert.ok(hostA !== undefined);
    const admin = await apiUser(srv, 'admin');
    assert.equal((await admin.call('DELETE', `/api/v1/hosts/${hostA.id}`)).status, 200);
    for (const where of ['header', 'body'] as const) {
      const dead = await read(srv, agent, keyA, where);
      assert.equal(dead.status, 401, where);
      assert.equal(dead.body['node_invalid'], true);
    }
    const last = await read(srv, agent, keyB, 'header');
    assert.equal(last.status, 200);
    assert.equal(last.socketPort, first.socketPort, 'every request rode the same kept-alive connection');

    // A host evicted from the cache (e.g. changed by another instance) is looked up again, not memoized.
    const hostB = srv.app.services.cache.getById((await srv.app.services.cache.authenticate(keyB))?.id ?? 0);
    assert.ok(hostB !== undefined);
    srv.app.services.cache.evict(hostB.id);
    assert.equal((await read(srv, agent, keyB, 'header')).status, 200);
    assert.notEqual(srv.app.services.cache.getById(hostB.id), hostB, 'a fresh cache entry, loaded from the database');
  });
});
