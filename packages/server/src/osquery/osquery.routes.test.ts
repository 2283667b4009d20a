/**
 * Malformed input on the osquery surface (osquery-protocol.md §10 S2–S4, S8–S11): every class gets
 * a status code, a JSON `{"error": …}` body, and nothing stored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { enroll, post, rawRequest, startServer, storedCounts, type RawResponse, type TestServer } from '../../test/helper.js';

const E = {
  enroll: '/api/v1/osquery/enroll',
  config: '/api/v1/osquery/config',
  log: '/api/v1/osquery/log',
  read: '/api/v1/osquery/distributed/read',
  write: '/api/v1/osquery/distributed/write',
  carveBegin: '/api/v1/osquery/carve/begin',
  carveBlock: '/api/v1/osquery/carve/block',
};

function assertJsonError(r: RawResponse, status: number, pattern?: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /application\/json/);
  const body = r.json as { error?: unknown };
  assert.equal(typeof body, 'object');
  assert.equal(typeof body.error, 'string', `expected an error message in ${r.text}`);
  if (pattern !== undefined) assert.match(body.error as string, pattern);
}

/** Run `fn` and assert no table that osquery requests write to changed. */
async function assertNothingStored(srv: TestServer, fn: () => Promise<void>): Promise<void> {
  const before = await storedCounts(srv);
  await fn();
  assert.deepEqual(await storedCounts(srv), before);
}

const resultLine = (name: string, pid: string) => ({
  name, hostIdentifier: 'h', calendarTime: 'Tue Jan  2 15:04:05 2024 UTC', unixTime: 1704207845, epoch: 0, counter: 1,
  numerics: false, columns: { pid, name: 'osqueryd' }, action: 'added',
});

void describe('osquery endpoints: malformed input', () => {
  void it('should answer 415 for an unknown Content-Encoding (S2)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    await assertNothingStored(srv, async () => {
      const r = await rawRequest(srv, E.log, { body: '{}', headers: { 'content-encoding': 'br', authorization: `NodeKey ${key}` } });
      assertJsonError(r, 415, /Content-Encoding/);
    });
  });

  void it('should answer 400 for a body that claims gzip but is not (S2)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    await assertNothingStored(srv, async () => {
      const r = await rawRequest(srv, E.log, { body: 'not gzip at all', headers: { 'content-encoding': 'gzip', authorization: `NodeKey ${key}` } });
      assertJsonError(r, 400, /gzip/);
    });
  });

  void it('should accept a gzip logger body and store it (S2, --logger_tls_compress)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const r = await rawRequest(srv, E.log, {
      body: JSON.stringify({ node_key: key, log_type: 'result', data: [resultLine('pack/p/q', '1')] }),
      gzip: true,
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {});
    assert.equal((await storedCounts(srv)).results, 1);
  });

  void it('should strip NUL sent as \\u0000 escapes from stored rows, plain and gzip, and store clean bodies as sent (§9 item 13)', async (t) => {
    // The route skips the per-value NUL strip for bodies whose raw JSON holds no \u0000 (body.ts
    // isNulFree): both paths must store the same clean rows.
    const srv = await startServer(t);
    const key = await enroll(srv);
    const dirty = { ...resultLine('pack/p/nul', '1'), columns: { path: '/tmp/a\u0000b', 'k\u0000ey': 'v', pid: '1' } };
    const clean = { ...resultLine('pack/p/clean', '2'), columns: { path: '/tmp/ab', key: 'v', pid: '2' } };
    for (const gzip of [false, true]) {
      for (const line of [dirty, clean]) {
        const body = JSON.stringify({ node_key: key, log_type: 'result', data: [{ ...line, counter: gzip ? 2 : 1 }] });
        const r = await rawRequest(srv, E.log, { body, gzip });
        assert.equal(r.status, 200, r.text);
      }
    }
    const rows = await srv.app.store.logs.listResults({ limit: 10 });
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.equal(row.columns.includes('\\u0000'), false, row.columns);
      const columns = JSON.parse(row.columns) as Record<string, string>;
      assert.deepEqual(columns, row.name === 'pack/p/nul' ? { path: '/tmp/ab', key: 'v', pid: '1' } : { path: '/tmp/ab', key: 'v', pid: '2' });
    }
  });

  void it('should answer 413 for a gzip bomb, inflating as a stream with a cap (S2)', async (t) => {
    const srv = await startServer(t, { overrides: { limits: { logBody: 64 * 1024, distributedWriteBody: 64 * 1024, otherBody: 16 * 1024 } } });
    const key = await enroll(srv);
    // 20 MiB of zeros inflate from ~20 KiB: under the raw cap, far over the inflated cap.
    const bomb = gzipSync(Buffer.concat([Buffer.from(`{"node_key":"${key}","log_type":"result","data":["`), Buffer.alloc(20 * 1024 * 1024, 0x30), Buffer.from('"]}')]));
    assert.ok(bomb.length < 64 * 1024);
    await assertNothingStored(srv, async () => {
      const r = await rawRequest(srv, E.log, { body: bomb, headers: { 'content-encoding': 'gzip', authorization: `NodeKey ${key}` } });
      assertJsonError(r, 413, /exceeds/);
    });
  });

  void it('should answer 413 for a raw body over the cap (S2)', async (t) => {
    const srv = await startServer(t, { overrides: { limits: { logBody: 64 * 1024, distributedWriteBody: 64 * 1024, otherBody: 16 * 1024 } } });
    const key = await enroll(srv);
    const big = JSON.stringify({ node_key: key, log_type: 'result', data: Array.from({ length: 2000 }, (_, i) => resultLine('pack/p/q', String(i))) });
    assert.ok(big.length > 64 * 1024);
    await assertNothingStored(srv, async () => {
      assertJsonError(await rawRequest(srv, E.log, { body: big, headers: { authorization: `NodeKey ${key}` } }), 413);
      assertJsonError(await rawRequest(srv, E.config, { body: JSON.stringify({ node_key: key, pad: 'x'.repeat(20 * 1024) }) }), 413);
    });
  });

  void it('should answer 400 for non-JSON, non-object JSON and empty bodies (S3)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    await assertNothingStored(srv, async () => {
      for (const path of Object.values(E)) {
        assertJsonError(await rawRequest(srv, path, { body: '{"node_key": ', headers: { authorization: `NodeKey ${key}` } }), 400, /JSON/);
        assertJsonError(await rawRequest(srv, path, { body: '[1,2]', headers: { authorization: `NodeKey ${key}` } }), 400, /object/);
        assertJsonError(await rawRequest(srv, path, { body: '"node_key"', headers: { authorization: `NodeKey ${key}` } }), 400, /object/);
        assertJsonError(await rawRequest(srv, path, { body: '', headers: { authorization: `NodeKey ${key}` } }), 400);
      }
    });
  });

  void it('should answer 401 node_invalid for missing, empty, unknown or conflicting node keys (S4)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const other = await enroll(srv, 'host-uuid-2', 'inst-2');
    await assertNothingStored(srv, async () => {
      for (const path of [E.config, E.log, E.read, E.write, E.carveBegin]) {
        const cases: Array<[unknown, Record<string, string>]> = [
          [{}, {}],
          [{ node_key: '' }, {}],
          [{ node_key: 'no-such-key' }, {}],
          [{ node_key: key }, { authorization: 'NodeKey no-such-key' }],
          [{ node_key: other }, { authorization: `NodeKey ${key}` }],
        ];
        for (const [body, headers] of cases) {
          const r = await post(srv, path, { log_type: 'result', data: [], ...(body as object) }, headers);
          assertJsonError(r, 401, /invalid node key/);
          assert.equal((r.json as { node_invalid?: unknown }).node_invalid, true);
        }
      }
    });
  });

  void it('should refuse an unknown header key before reading the body (S4)', async (t) => {
    const srv = await startServer(t);
    // Declares far more than the cap: a server that read first would answer 413, not 401.
    const r = await rawRequest(srv, E.log, { body: '{"node_key":"x"}', headers: { authorization: 'NodeKey nope' } });
    assertJsonError(r, 401);
    assert.equal((r.json as { node_invalid?: unknown }).node_invalid, true);
  });

  void it('should refuse enroll with a bad secret without a node_key (S6)', async (t) => {
    const srv = await startServer(t);
    await assertNothingStored(srv, async () => {
      for (const secret of ['wrong', '', undefined]) {
        const r = await post(srv, E.enroll, { enroll_secret: secret, host_identifier: 'x', host_details: {} });
        assertJsonError(r, 401, /enroll failed/);
        assert.equal((r.json as { node_key?: unknown }).node_key, undefined);
      }
      assertJsonError(await post(srv, E.enroll, { enroll_secret: srv.secret, host_identifier: 5 }), 400);
      assertJsonError(await post(srv, E.enroll, { enroll_secret: 7, host_identifier: 'x' }), 400);
      assertJsonError(await post(srv, E.enroll, { enroll_secret: srv.secret, host_identifier: 'x', host_details: 'nope' }), 400);
    });
  });

  void it('should answer 400 for an unknown log_type, non-array data, or any bad line — storing none of the batch (S8)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const h = { authorization: `NodeKey ${key}` };
    await assertNothingStored(srv, async () => {
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'snapshotz', data: [] }, h), 400, /log_type/);
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'result', data: {} }, h), 400);
      assertJsonError(await post(srv, E.log, { node_key: key, data: [] }, h), 400);
      // The second line lacks a name: the whole batch is refused, the first line not stored either.
      const bad = { ...resultLine('pack/p/q', '2'), name: undefined };
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'result', data: [resultLine('pack/p/q', '1'), bad] }, h), 400, /data\/1/);
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'result', data: [resultLine('pack/p/q', '1'), 'a string'] }, h), 400, /data\/1/);
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'result', data: [{ name: 'x', unixTime: 1 }] }, h), 400, /not a result log line/);
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'status', data: [{ severity: 'high', message: 'x' }] }, h), 400);
      assertJsonError(await post(srv, E.log, { node_key: key, log_type: 'status', data: [{ severity: 0 }] }, h), 400, /message/);
    });
  });

  void it('should answer 400 for malformed distributed writes and store nothing (S9)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const h = { authorization: `NodeKey ${key}` };
    await assertNothingStored(srv, async () => {
      assertJsonError(await post(srv, E.write, { node_key: key, queries: [] }, h), 400);
      assertJsonError(await post(srv, E.write, { node_key: key, queries: { a: [] }, statuses: { a: 'zero' } }, h), 400);
      assertJsonError(await post(srv, E.write, { node_key: key, queries: { a: [{ x: { nested: true } }] } }, h), 400);
      assertJsonError(await post(srv, E.write, { node_key: key, queries: { a: [] }, messages: { a: 5 } }, h), 400);
    });
  });

  void it('should refuse malformed carve begins and blocks (S10)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const h = { authorization: `NodeKey ${key}` };
    const begin = { block_count: 2, block_size: 8, carve_size: 16, carve_id: 'guid-1', request_id: 'req-1', node_key: key };
    await assertNothingStored(srv, async () => {
      assertJsonError(await post(srv, E.carveBegin, { ...begin, block_count: 3 }, h), 400, /block_count/);
      assertJsonError(await post(srv, E.carveBegin, { ...begin, carve_size: 0, block_count: 0 }, h), 400);
      assertJsonError(await post(srv, E.carveBegin, { ...begin, block_size: 'eight' }, h), 400);
      assertJsonError(await post(srv, E.carveBegin, { ...begin, carve_id: '' }, h), 400);
      assertJsonError(await post(srv, E.carveBlock, { block_id: 0, session_id: 'nope', request_id: 'req-1', data: 'AAAA' }), 404);
    });
    const started = await post(srv, E.carveBegin, begin, h);
    assert.equal(started.status, 200, started.text);
    const session = (started.json as { session_id: string }).session_id;
    assert.match(session, /\S+/);
    const blocksBefore = (await storedCounts(srv)).carveBlocks;
    for (const bad of [
      { block_id: 2, session_id: session, request_id: 'req-1', data: Buffer.alloc(8).toString('base64') },
      { block_id: -1, session_id: session, request_id: 'req-1', data: Buffer.alloc(8).toString('base64') },
      { block_id: 0, session_id: session, request_id: 'other', data: Buffer.alloc(8).toString('base64') },
      { block_id: 0, session_id: session, request_id: 'req-1', data: Buffer.alloc(9).toString('base64') },
      { block_id: 0, session_id: session, request_id: 'req-1', data: '***not base64***' },
    ]) {
      const r = await post(srv, E.carveBlock, bad);
      assert.ok(r.status >= 400 && r.status < 500, r.text);
      assertJsonError(r, r.status);
    }
    assert.equal((await storedCounts(srv)).carveBlocks, blocksBefore);
  });

  void it('should answer 404 JSON for unknown paths and 405 JSON for wrong methods (S11)', async (t) => {
    const srv = await startServer(t);
    await assertNothingStored(srv, async () => {
      assertJsonError(await post(srv, '/api/v1/osquery/nope', {}), 404);
      assertJsonError(await post(srv, '/api/v1/osquery/distributed', {}), 404);
      // Outside the API a GET is a console deep link (index.html); anything else is a JSON 404.
      const outside = await rawRequest(srv, '/nope', { method: 'POST', body: '{}' });
      assert.equal(outside.status, 404);
      assert.equal(typeof outside.json, 'object');
      for (const path of Object.values(E)) {
        for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
          const r = await rawRequest(srv, path, { method, ...(method === 'GET' ? {} : { body: '{}' }) });
          assertJsonError(r, 405);
          assert.equal(r.headers['allow'], 'POST');
        }
      }
    });
  });

  void it('should never put an error key in a success and accept numbers as numeric strings (S5, S9)', async (t) => {
    const srv = await startServer(t);
    const key = await enroll(srv);
    const h = { authorization: `NodeKey ${key}` };
    for (const path of [E.config, E.read]) {
      const r = await post(srv, path, { node_key: key }, h);
      assert.equal(r.status, 200);
      assert.equal(Object.hasOwn(r.json as object, 'error'), false);
      assert.equal(Object.hasOwn(r.json as object, 'node_invalid'), false);
    }
    // Legacy shapes: statuses as strings (< 3.0), rows as "" (1.x/2.x), no messages/stats.
    const w = await post(srv, E.write, { node_key: key, queries: { q1: '', q2: [{ a: '1' }] }, statuses: { q1: '1', q2: '0' } }, h);
    assert.equal(w.status, 200, w.text);
    assert.deepEqual(w.json, {});
    const q1 = await srv.app.store.distributed.getResult(1, 'q1');
    assert.equal(q1?.status, 1);
    assert.equal(q1.row_count, 0);
  });
});
