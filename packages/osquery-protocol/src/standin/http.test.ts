import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { OsqueryHttpClient, OsqueryTransportError, parseTlsHostname } from './http.js';
import { parseOsqueryResponse } from './json.js';
import { makeTestCertificate, RecordingServer, type TestCertificate } from './testing.js';

let cert: TestCertificate;
let server: RecordingServer;

before(async () => {
  cert = await makeTestCertificate();
  server = await RecordingServer.start(cert);
});
after(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  server.dropConnections();
  server.handler = (_req, reply) => {
    reply.send(200, {});
  };
});

function client(extra: Partial<ConstructorParameters<typeof OsqueryHttpClient>[0]> = {}): OsqueryHttpClient {
  return new OsqueryHttpClient({ tlsHostname: server.tlsHostname, ca: cert.cert, ...extra });
}

async function rejectsTransport(p: Promise<unknown>, kind?: string): Promise<OsqueryTransportError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof OsqueryTransportError, `expected OsqueryTransportError, got ${String(e)}`);
    if (kind !== undefined) assert.equal(e.kind, kind);
    return e;
  }
  assert.fail('expected a transport failure');
}

describe('parseTlsHostname', () => {
  it('omits the port from Host only when it is 443', () => {
    assert.deepEqual(parseTlsHostname('mdm.example.com'), { host: 'mdm.example.com', port: 443, hostHeader: 'mdm.example.com' });
    assert.deepEqual(parseTlsHostname('mdm.example.com:443'), { host: 'mdm.example.com', port: 443, hostHeader: 'mdm.example.com' });
    assert.deepEqual(parseTlsHostname('mdm.example.com:8443'), { host: 'mdm.example.com', port: 8443, hostHeader: 'mdm.example.com:8443' });
    assert.deepEqual(parseTlsHostname('[::1]:8443'), { host: '::1', port: 8443, hostHeader: '[::1]:8443' });
    assert.throws(() => parseTlsHostname('host:0'));
  });
});

describe('parseOsqueryResponse', () => {
  it('applies osquery body rules', () => {
    assert.deepEqual(parseOsqueryResponse(Buffer.alloc(0)), { ok: true, value: {} });
    assert.equal(parseOsqueryResponse('<html>').ok, false);
    assert.equal(parseOsqueryResponse('[]').ok, false);
    assert.equal(parseOsqueryResponse('"x"').ok, false);
    assert.equal(parseOsqueryResponse(' ').ok, false);
  });
});

describe('OsqueryHttpClient', () => {
  it('writes the exact 5.23.1 request (header order, Authorization, Host, Content-Length)', async () => {
    const c = client();
    const body = '{"node_key":"abc"}';
    const res = await c.request({ path: '/api/v1/osquery/distributed/read', body, nodeKey: 'abc' });
    c.close();
    assert.equal(res.status, 200);
    assert.equal(server.requests.length, 1);
    const expected =
      'POST /api/v1/osquery/distributed/read HTTP/1.1\r\n' +
      'Content-Type: application/json\r\n' +
      'Accept: application/json\r\n' +
      'User-Agent: osquery/5.23.1\r\n' +
      'Authorization: NodeKey abc\r\n' +
      `Host: localhost:${server.port}\r\n` +
      'Content-Length: 18\r\n' +
      '\r\n' +
      body;
    assert.equal(server.requests[0]?.raw.toString('utf8'), expected);
  });

  it('has no Authorization before 5.23.0 and Accept-Encoding only with acceptGzip since 5.21', async () => {
    const c22 = client({ version: '5.22.1', acceptGzip: true });
    await c22.request({ path: '/x', body: '{}', nodeKey: 'abc' });
    c22.close();
    assert.equal(
      server.requests[0]?.head,
      `POST /x HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nUser-Agent: osquery/5.22.1\r\n` +
        `Host: localhost:${server.port}\r\nAccept-Encoding: gzip\r\nContent-Length: 2`,
    );
    const c20 = client({ version: '5.20.0', acceptGzip: true });
    await c20.request({ path: '/x', body: '{}', nodeKey: 'abc' });
    c20.close();
    assert.ok(!server.requests[1]?.head.includes('Accept-Encoding'));
    assert.ok(!server.requests[1]?.head.includes('Authorization'));
  });

  it('places Content-Encoding: gzip before Host and gzips the body', async () => {
    const c = client({ acceptGzip: true });
    await c.request({ path: '/log', body: '{"a":1}', nodeKey: 'k', compress: true });
    c.close();
    const names = server.requests[0]?.headers.map(([n]) => n);
    assert.deepEqual(names, ['Content-Type', 'Accept', 'User-Agent', 'Authorization', 'Content-Encoding', 'Host', 'Accept-Encoding', 'Content-Length']);
    const body = server.requests[0]?.body ?? Buffer.alloc(0);
    assert.equal(body[0], 0x1f);
    assert.equal(body[1], 0x8b);
  });

  it('reuses one kept-alive connection and honours Connection: close', async () => {
    const c = client();
    await c.request({ path: '/a', body: '{}' });
    await c.request({ path: '/b', body: '{}' });
    assert.equal(server.connectionCount >= 1, true);
    const conns = new Set(server.requests.map((r) => r.connection));
    assert.equal(conns.size, 1);
    server.handler = (_req, reply) => {
      reply.send(200, {}, { close: true });
    };
    await c.request({ path: '/c', body: '{}' });
    server.handler = (_req, reply) => {
      reply.send(200, {});
    };
    await c.request({ path: '/d', body: '{}' });
    c.close();
    const [a, b, cc, d] = server.requests.map((r) => r.connection);
    assert.equal(a, b);
    assert.equal(b, cc);
    assert.notEqual(cc, d);
    assert.equal(c.stats.resends, 0);
  });

  it('re-sends once, at once, after the server drops the socket without answering', async () => {
    server.script([(_req, reply) => reply.destroy()]);
    const c = client();
    const res = await c.request({ path: '/api/v1/osquery/config', body: '{"node_key":"k"}', nodeKey: 'k' });
    c.close();
    assert.equal(res.status, 200);
    assert.equal(res.resent, true);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(server.requests[0]?.raw, server.requests[1]?.raw);
    assert.notEqual(server.requests[0]?.connection, server.requests[1]?.connection);
    assert.equal(c.stats.resends, 1);
  });

  it('fails after the second transport failure (only one hidden re-send)', async () => {
    server.handler = (_req, reply) => reply.destroy();
    const c = client();
    await rejectsTransport(c.request({ path: '/x', body: '{}' }));
    c.close();
    assert.equal(server.requests.length, 2);
  });

  it('uses the re-send when a kept-alive socket was closed by the server while idle', async () => {
    const c = client();
    await c.request({ path: '/a', body: '{}' });
    server.dropConnections();
    await new Promise((r) => setTimeout(r, 20));
    const res = await c.request({ path: '/b', body: '{}' });
    c.close();
    assert.equal(res.status, 200);
    assert.equal(res.resent, true);
    assert.equal(server.requests.length, 2);
  });

  it('times out after the fixed budget without re-sending', async () => {
    server.handler = (_req, reply) => reply.hang();
    const c = client({ timeoutMs: 150 });
    await rejectsTransport(c.request({ path: '/x', body: '{}' }), 'timeout');
    c.close();
    assert.equal(server.requests.length, 1);
    assert.equal(c.stats.timeouts, 1);
  });

  it('parses chunked responses and returns any status untouched', async () => {
    server.handler = (_req, reply) => {
      reply.send(500, { node_key: 'x'.repeat(100) }, { chunked: 7 });
    };
    const c = client();
    const res = await c.request({ path: '/x', body: '{}' });
    c.close();
    assert.equal(res.status, 500);
    assert.deepEqual(JSON.parse(res.body.toString()), { node_key: 'x'.repeat(100) });
  });

  it('reads a close-delimited body and skips interim 1xx responses', async () => {
    server.script([
      (_req, reply) => {
        reply.raw('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"node_key":"eof"}');
        reply.end();
      },
    ]);
    const c = client();
    const res = await c.request({ path: '/x', body: '{}' });
    assert.equal(res.body.toString(), '{"node_key":"eof"}');
    await c.request({ path: '/y', body: '{}' });
    c.close();
    assert.equal(res.resent, false);
    assert.notEqual(server.requests[0]?.connection, server.requests[1]?.connection);
  });

  it('inflates gzip responses only when Accept-Encoding: gzip was sent', async () => {
    server.handler = (_req, reply) => {
      reply.send(200, { ok: 1 }, { gzip: true });
    };
    const on = client({ acceptGzip: true });
    const inflated = await on.request({ path: '/x', body: '{}' });
    on.close();
    assert.deepEqual(parseOsqueryResponse(inflated.body), { ok: true, value: { ok: 1 } });
    const off = client();
    const raw = await off.request({ path: '/x', body: '{}' });
    off.close();
    assert.deepEqual(raw.body.subarray(0, 2), gzipSync('x').subarray(0, 2));
    assert.equal(parseOsqueryResponse(raw.body).ok, false);
  });

  it('follows redirects with the same method and body, up to 10', async () => {
    server.script([
      (_req, reply) => {
        reply.send(307, '', { headers: { Location: '/moved' } });
      },
      (_req, reply) => {
        reply.send(301, '', { headers: { Location: `https://localhost:${server.port}/final?x=1` } });
      },
    ]);
    const c = client();
    const res = await c.request({ path: '/start', body: '{"node_key":"k"}', nodeKey: 'k' });
    assert.equal(res.status, 200);
    assert.equal(res.redirects, 2);
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), ['POST /start', 'POST /moved', 'POST /final?x=1']);
    assert.ok(server.requests.every((r) => r.body.toString() === '{"node_key":"k"}'));

    server.requests.length = 0;
    server.handler = (_req, reply) => {
      reply.send(302, '');
    };
    const missing = await rejectsTransport(c.request({ path: '/x', body: '{}' }), 'redirect');
    assert.match(missing.message, /Location/);

    server.requests.length = 0;
    server.handler = (req, reply) => {
      reply.send(302, '', { headers: { Location: `${req.path}x` } });
    };
    await rejectsTransport(c.request({ path: '/x', body: '{}' }), 'redirect');
    assert.equal(server.requests.length, 11);
    c.close();
  });

  it('refuses a server certificate the pinned CA does not sign', async () => {
    const other = await makeTestCertificate();
    const c = new OsqueryHttpClient({ tlsHostname: server.tlsHostname, ca: other.cert });
    const err = await rejectsTransport(c.request({ path: '/x', body: '{}' }));
    c.close();
    assert.equal(err.kind, 'connect');
    assert.equal(server.requests.length, 0);
  });

  it('negotiates TLS ≥ 1.2 with an ECDHE-AES-GCM suite', async () => {
    const c = client();
    await c.request({ path: '/x', body: '{}' });
    c.close();
    assert.equal(c.stats.connects, 1);
    assert.ok(c.stats.bytesSent > 0 && c.stats.bytesReceived > 0);
    const req = server.requests[0];
    assert.ok(req?.tlsProtocol === 'TLSv1.2' || req?.tlsProtocol === 'TLSv1.3');
    assert.match(req.cipher, /GCM|TLS_AES/);
  });

  it('offers only ECDHE-AES-GCM suites over TLS 1.2', async () => {
    const c = client();
    // Force TLS 1.2 on the server side to see which suite osquery's cipher string picks.
    const s12 = await RecordingServer.start(cert, { maxVersion: 'TLSv1.2' });
    const c12 = new OsqueryHttpClient({ tlsHostname: s12.tlsHostname, ca: cert.cert });
    await c12.request({ path: '/x', body: '{}' });
    c12.close();
    c.close();
    await s12.close();
    assert.equal(s12.requests[0]?.tlsProtocol, 'TLSv1.2');
    assert.match(s12.requests[0].cipher, /^ECDHE-ECDSA-AES(128|256)-GCM-SHA(256|384)$/);
    // A TLS 1.2 server offering only a CBC suite cannot be reached with osquery's cipher string.
    const cbc = await RecordingServer.start(cert, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA' });
    const cc = new OsqueryHttpClient({ tlsHostname: cbc.tlsHostname, ca: cert.cert });
    await rejectsTransport(cc.request({ path: '/x', body: '{}' }), 'connect');
    cc.close();
    await cbc.close();
    assert.equal(cbc.requests.length, 0);
  });
});
