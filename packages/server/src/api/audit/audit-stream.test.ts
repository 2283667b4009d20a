/**
 * Audit of streamed downloads (issue #4 "an audit log of every admin action"): an export is
 * recorded before its first byte, so a client that closes the connection mid-download (the data it
 * got is out already) still leaves an entry; a refused export leaves none.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiUser, startServer, type ApiCaller, type TestServer } from '../../../test/helper.js';

/** GET `path`, read the first chunk of the body, then drop the connection. Resolves with that chunk. */
function abortAfterFirstChunk(srv: TestServer, caller: ApiCaller, path: string): Promise<{ status: number; first: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: srv.port, path, method: 'GET', headers: { authorization: `Bearer ${caller.token}` }, ca: srv.ca, servername: 'localhost', agent: false },
      (res) => {
        res.once('data', (c: Buffer) => {
          resolve({ status: res.statusCode ?? 0, first: c.toString('utf8') });
          req.destroy();
        });
        res.once('end', () => reject(new Error('the whole export arrived before the abort: make it bigger')));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}

async function auditActions(srv: TestServer, action: string): Promise<Array<{ actor_email: string; details: string }>> {
  return srv.app.store.audit.list({ limit: 100, action });
}

void describe('audit of streamed downloads', () => {
  void it('should record an export the client aborted mid-download', async (t) => {
    const srv = await startServer(t);
    const reader = await apiUser(srv, 'readonly');
    const group = await srv.app.store.groups.findByName('default');
    assert.ok(group);
    const now = Date.now();
    // Enough rows (several 1000-host pages, megabytes of CSV) that the stream is still running at the abort.
    await srv.app.store.transaction(async (tx) => {
      for (let i = 0; i < 6000; i++) {
        await tx.hosts.insert({
          identifier: `stream-${i}`, group_id: group.id, hostname: `stream-host-${i}-${'x'.repeat(200)}`, platform: 'linux',
          enrolled_at: now, last_enrolled_at: now, created_at: now, updated_at: now,
        });
      }
    });

    const r = await abortAfterFirstChunk(srv, reader, '/api/v1/hosts.csv?platform=linux');
    assert.equal(r.status, 200);
    assert.match(r.first, /^id,/);

    // The entry is written before the first byte; allow the aborted request to settle, bounded.
    let entries = await auditActions(srv, 'host.export');
    for (let i = 0; i < 50 && entries.length === 0; i++) {
      await sleep(20);
      entries = await auditActions(srv, 'host.export');
    }
    assert.equal(entries.length, 1);
    const entry = entries[0];
    assert.ok(entry !== undefined);
    assert.equal(entry.actor_email, reader.email);
    assert.match(entry.details, /linux/);

    // A complete download is recorded once, not twice (onSend and onResponse).
    const full = await reader.call('GET', '/api/v1/hosts.csv?q=stream-host-59');
    assert.equal(full.status, 200);
    assert.equal(full.text.trim().split('\n').length, 1 + 111);
    assert.equal((await auditActions(srv, 'host.export')).length, 2);

    // A refused export (bad filter) streams nothing and records nothing.
    assert.equal((await reader.call('GET', '/api/v1/hosts.csv?groupId=999999')).status, 422);
    assert.equal((await auditActions(srv, 'host.export')).length, 2);
  });
});
