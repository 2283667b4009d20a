import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { makeHostProfile } from './host-templates.js';
import { OsquerydStandin, type OsquerydStandinOptions } from './osqueryd.js';
import type { QueryAnswer } from './query-engine.js';
import { bodyJson, bodyText, headerOf, makeTestCertificate, RecordingServer, type Handler, type RecordedRequest, type TestCertificate } from './testing.js';

let cert: TestCertificate;
let server: RecordingServer;
const standins: OsquerydStandin[] = [];
let sleeps: number[] = [];

before(async () => {
  cert = await makeTestCertificate();
  server = await RecordingServer.start(cert);
});
after(async () => {
  for (const s of standins) await s.close();
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
  server.dropConnections();
  server.handler = (_req, reply) => {
    reply.send(200, {});
  };
  sleeps = [];
});

const FIXED_NOW = Date.UTC(2024, 0, 2, 15, 4, 5);

function standin(extra: Partial<OsquerydStandinOptions> = {}): OsquerydStandin {
  const s = new OsquerydStandin({
    tlsHostname: server.tlsHostname,
    ca: cert.cert,
    enrollSecret: 's3cret',
    profile: makeHostProfile('ubuntu', 7),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    now: () => FIXED_NOW,
    ...extra,
  });
  standins.push(s);
  return s;
}

const reply = (status: number, body: string | object): Handler => (_req, r) => {
  r.send(status, body);
};

function paths(): string[] {
  return server.requests.map((r) => r.path.replace('/api/v1/osquery', ''));
}

function req(i: number): RecordedRequest {
  const r = server.requests[i];
  assert.ok(r, `request ${i} missing`);
  return r;
}

describe('enroll', () => {
  it('sends the secret, identifier, platform and sorted host_details without Authorization', async () => {
    server.script([reply(200, { node_key: 'nk-1' })]);
    const s = standin({ enrollSecretKey: 'my_secret' });
    const r = await s.enroll();
    assert.deepEqual(r, { ok: true, nodeKey: 'nk-1', attempts: 1 });
    const e = req(0);
    assert.equal(e.path, '/api/v1/osquery/enroll');
    assert.equal(headerOf(e, 'authorization'), undefined);
    const text = bodyText(e);
    assert.ok(text.startsWith(`{"my_secret":"s3cret","host_identifier":"${s.profile.uuid}","platform_type":"9","host_details":{"os_version":{"arch":"x86_64",`));
    const body = bodyJson(e) as { host_details: Record<string, Record<string, string>> };
    assert.deepEqual(Object.keys(body.host_details), ['os_version', 'osquery_info', 'platform_info', 'system_info']);
    for (const table of Object.values(body.host_details)) {
      const keys = Object.keys(table);
      assert.deepEqual(keys, [...keys].sort());
      assert.ok(Object.values(table).every((v) => typeof v === 'string'));
    }
    assert.equal(body.host_details['os_version']?.['pid_with_namespace'], '0');
    assert.equal(body.host_details['osquery_info']?.['version'], '5.23.1');
    assert.equal(body.host_details['osquery_info']['config_hash'], '');
    assert.equal(body.host_details['osquery_info']['config_valid'], '0');
    assert.equal(body.host_details['osquery_info']['platform_mask'], '9');
  });

  it('omits platform_info for containers and accepts `id` when node_key is absent', async () => {
    server.script([reply(200, { id: 'from-id' })]);
    const s = standin({ profile: makeHostProfile('rhel', 3, { container: true }), hostIdentifier: 'hostname' });
    assert.equal((await s.enroll()).ok, true);
    assert.equal(s.nodeKey, 'from-id');
    const body = bodyJson(req(0)) as { host_identifier: string; host_details: object };
    assert.deepEqual(Object.keys(body.host_details), ['os_version', 'osquery_info', 'system_info']);
    assert.equal(body.host_identifier, s.profile.hostname);
  });

  it('retries with min(n², max_interval) s sleeps, ignoring node_invalid/error, then succeeds', async () => {
    server.script([
      reply(401, { node_invalid: true, error: 'nope' }),
      reply(200, { node_key: 42 }),
      reply(200, '<html>'),
      reply(200, { node_key: '' }),
      reply(200, { node_key: 'good', node_invalid: true, error: 'ignored' }),
    ]);
    const s = standin({ enrollMaxIntervalSec: 10 });
    const r = await s.enroll();
    assert.deepEqual(r, { ok: true, nodeKey: 'good', attempts: 5 });
    assert.deepEqual(sleeps, [1000, 4000, 9000, 10000]);
  });

  it('gives up after tls_enroll_max_attempts', async () => {
    server.handler = reply(500, {});
    const s = standin({ enrollMaxAttempts: 3 });
    const r = await s.enroll();
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 3);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(sleeps, [1000, 4000]);
  });

  it('never enrolls with disable_enrollment and sends an empty node key', async () => {
    const s = standin({ disableEnrollment: true });
    assert.equal((await s.config()).ok, true);
    assert.deepEqual(paths(), ['/config']);
    assert.equal(bodyText(req(0)), '{"node_key":""}');
    assert.equal(headerOf(req(0), 'authorization'), undefined);
  });
});

describe('TLS client-auth enrollment', () => {
  it('presents the client certificate and skips enrollment', async () => {
    const client = await makeTestCertificate('agent');
    const mtls = await RecordingServer.start(cert, { requestCert: true, ca: client.cert });
    try {
      const s = standin({ tlsHostname: mtls.tlsHostname, clientCert: client.cert, clientKey: client.key, disableEnrollment: true });
      assert.equal((await s.distributedRead()).ok, true);
      assert.equal(mtls.requests.length, 1);
      assert.equal(mtls.requests[0]?.clientAuthorized, true);
      assert.equal(mtls.requests[0].path, '/api/v1/osquery/distributed/read');
      await s.close();
    } finally {
      await mtls.close();
    }
  });
});

describe('config / TLSRequestHelper', () => {
  it('sends {"node_key"} with Authorization on 5.23.1 and none on 5.22', async () => {
    const s = standin({ nodeKey: 'k1' });
    const r = await s.config();
    assert.equal(r.ok, true);
    assert.equal(bodyText(req(0)), '{"node_key":"k1"}');
    assert.equal(headerOf(req(0), 'authorization'), 'NodeKey k1');
    const old = standin({ nodeKey: 'k1', version: '5.22.1' });
    await old.config();
    assert.equal(headerOf(req(1), 'authorization'), undefined);
    assert.equal(headerOf(req(1), 'user-agent'), 'osquery/5.22.1');
  });

  it('enrolls first when no key is stored', async () => {
    server.script([reply(200, { node_key: 'fresh' })]);
    const s = standin();
    await s.config();
    assert.deepEqual(paths(), ['/enroll', '/config']);
    assert.equal(bodyText(req(1)), '{"node_key":"fresh"}');
  });

  it('re-enrolls inside the retry loop after node_invalid; attempt 2 carries the new key', async () => {
    server.script([
      reply(401, { node_invalid: true, error: 'invalid node key' }),
      reply(200, { node_key: 'k2' }),
      reply(200, { schedule: {} }),
    ]);
    const s = standin({ nodeKey: 'k1' });
    const r = await s.config();
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 2);
    assert.deepEqual(paths(), ['/config', '/enroll', '/config']);
    assert.equal(headerOf(req(0), 'authorization'), 'NodeKey k1');
    assert.equal(headerOf(req(1), 'authorization'), undefined);
    assert.equal(bodyText(req(2)), '{"node_key":"k2"}');
    assert.equal(headerOf(req(2), 'authorization'), 'NodeKey k2');
    assert.deepEqual(sleeps, [1000]);
    assert.equal(s.nodeKey, 'k2');
    // After a config is loaded, osquery_info reports it on the next enroll.
    server.script([reply(200, { node_key: 'k3' })]);
    await s.enroll();
    const details = (bodyJson(req(3)) as { host_details: { osquery_info: Record<string, string> } }).host_details.osquery_info;
    assert.equal(details['config_valid'], '1');
    assert.match(details['config_hash'] ?? '', /^[0-9a-f]{40}$/);
  });

  it('node_invalid with disable_reenrollment keeps the key; a string "true" is not honoured', async () => {
    server.script([reply(401, { node_invalid: true })], reply(200, {}));
    const s = standin({ nodeKey: 'k1', disableReenrollment: true });
    const r = await s.config();
    assert.equal(r.ok, true);
    assert.deepEqual(paths(), ['/config', '/config']);
    assert.equal(bodyText(req(1)), '{"node_key":"k1"}');
    server.requests.length = 0;
    server.script([reply(200, { node_invalid: 'true' })]);
    const t = standin({ nodeKey: 'k9' });
    assert.equal((await t.config()).ok, true);
    assert.equal(t.nodeKey, 'k9');
  });

  it('reports the §1.5 outcomes: error key fails, 500 {} and empty bodies succeed, non-JSON fails', async () => {
    const s = standin({ nodeKey: 'k', configMaxAttempts: 1 });
    const outcome = async (h: Handler): Promise<string> => {
      server.script([h]);
      const r = await s.config();
      return r.ok ? `ok:${r.status}` : `fail:${r.error}`;
    };
    assert.equal(await outcome(reply(200, { error: 'x' })), 'fail:Request failed: x');
    assert.equal(await outcome(reply(200, { error: null })), 'fail:Request failed: ');
    assert.equal(await outcome(reply(500, {})), 'ok:500');
    assert.equal(await outcome(reply(200, '')), 'ok:200');
    assert.match(await outcome(reply(200, '<html>bad gateway</html>')), /^fail:Cannot parse JSON/);
    assert.match(await outcome(reply(200, '[1]')), /^fail:Cannot parse JSON/);
    assert.equal(await outcome(reply(401, { node_invalid: true, error: 'gone' })), 'fail:Request failed: Invalid node key: gone');
  });

  it('tries config 3 times with 1 s and 4 s sleeps', async () => {
    server.handler = reply(200, { error: 'down' });
    const s = standin({ nodeKey: 'k' });
    const r = await s.config();
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 3);
    assert.deepEqual(sleeps, [1000, 4000]);
  });

  it('applies normal flags from config options and appends the secret with tls_secret_always', async () => {
    server.script([reply(200, { options: { distributed_interval: '15', logger_tls_period: 2 } })]);
    const s = standin({ nodeKey: 'k', tlsSecretAlways: true, enrollSecret: 'a b&c' });
    await s.config();
    assert.equal(req(0).path, '/api/v1/osquery/config?enroll_secret=a');
    assert.equal(s.distributedIntervalSec, 15);
    assert.equal(s.nextLogFlushSec, 2);
  });
});

describe('logger', () => {
  it('sends {"data","log_type","node_key"} uncompressed', async () => {
    const s = standin({ nodeKey: 'k' });
    const r = await s.sendLogs('result', [{ name: 'q' }]);
    assert.equal(r.ok, true);
    assert.equal(bodyText(req(0)), '{"data":[{"name":"q"}],"log_type":"result","node_key":"k"}');
    assert.equal(headerOf(req(0), 'content-encoding'), undefined);
  });

  it('gzips (level 9) {"node_key","log_type","data"} with Content-Encoding: gzip when compressed', async () => {
    const s = standin({ nodeKey: 'k', loggerCompress: true });
    await s.sendLogs('status', [{ message: 'm' }]);
    const r = req(0);
    assert.equal(headerOf(r, 'content-encoding'), 'gzip');
    assert.equal(r.body[0], 0x1f);
    assert.equal(r.body[8], 2); // gzip XFL=2: maximum compression
    assert.equal(bodyText(r), '{"node_key":"k","log_type":"status","data":[{"message":"m"}]}');
    assert.equal(headerOf(r, 'content-length'), String(r.body.length));
  });

  it('is a single attempt per flush; failed lines stay buffered with period·n² backoff', async () => {
    const s = standin({ nodeKey: 'k', loggerPeriodSec: 4 });
    s.logResult('{"name":"a"}');
    s.logResult('not json');
    s.logStatus(1, 'warn');
    server.script([reply(200, { error: 'full' })], reply(200, {}));
    const first = await s.flushLogs();
    assert.equal(first.results?.ok, false);
    assert.equal(first.statuses?.ok, true);
    assert.equal(first.remaining, 2);
    assert.equal(first.nextFlushSec, 4);
    assert.equal(server.requests.length, 2);
    assert.deepEqual(sleeps, []);
    server.script([reply(200, { error: 'full' })]);
    const second = await s.flushLogs();
    assert.equal(second.nextFlushSec, 16);
    const third = await s.flushLogs();
    assert.equal(third.remaining, 0);
    assert.equal(third.nextFlushSec, 4);
    assert.equal(bodyText(req(3)), '{"data":[{"name":"a"}],"log_type":"result","node_key":"k"}');
  });

  it('builds status lines with string numbers before 5.10', async () => {
    const s = standin({ nodeKey: 'k', version: '5.9.1', hostIdentifier: { value: 'web-01' } });
    s.logStatus(0, 'osquery worker initialized', { filename: 'init.cpp', line: 379 });
    await s.flushLogs();
    assert.equal(
      bodyText(req(0)),
      '{"data":[{"hostIdentifier":"web-01","calendarTime":"Tue Jan  2 15:04:05 2024 UTC","unixTime":"1704207845",' +
        '"severity":"0","filename":"init.cpp","line":"379","message":"osquery worker initialized","version":"5.9.1"}],' +
        '"log_type":"status","node_key":"k"}',
    );
    const n = standin({ nodeKey: 'k', hostIdentifier: { value: 'web-01' } });
    n.logStatus(2, 'x', { filename: 'a.cpp', line: 1 });
    await n.flushLogs();
    assert.match(bodyText(req(1)), /"unixTime":1704207845,"severity":2,"filename":"a.cpp","line":1,/);
  });

  it('drops oversize lines and honours tls_disable_status_log', async () => {
    const s = standin({ nodeKey: 'k', loggerMaxLinesize: 20, tlsDisableStatusLog: true });
    s.logResult('{"name":"small"}');
    s.logResult(`{"name":"${'x'.repeat(40)}"}`);
    s.logStatus(0, 'dropped as sent');
    const r = await s.flushLogs();
    assert.equal(r.droppedOversize, 1);
    assert.equal(r.remaining, 0);
    assert.equal(r.statuses, undefined);
    assert.deepEqual(paths(), ['/log']);
    assert.equal(bodyText(req(0)), '{"data":[{"name":"small"}],"log_type":"result","node_key":"k"}');
  });
});

describe('distributed', () => {
  const engine = (sql: string): QueryAnswer => {
    if (sql === 'SELECT 1') return { status: 0, rows: [{ '1': '1' }], stats: { wall_time_ms: 3, user_time: 1, system_time: 0, memory: 16384 } };
    if (sql === 'SELECT 0') return { status: 0, rows: [], stats: { wall_time_ms: 0, user_time: 0, system_time: 0, memory: 0 } };
    if (sql.startsWith('SELECT version')) return { status: 0, rows: [{ version: '5.23.1' }], stats: { wall_time_ms: 3, user_time: 1, system_time: 0, memory: 16384 } };
    return { status: 1, message: 'no such table: nope', rows: [], stats: { wall_time_ms: 1, user_time: 0, system_time: 0, memory: 0 } };
  };

  it('writes queries/statuses/messages/stats/node_key in order', async () => {
    server.script([reply(200, { queries: { info: 'SELECT version FROM osquery_info', bad: 'SELECT * FROM nope' } })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine });
    const r = await s.runDistributedOnce();
    assert.equal(r.accepted, true);
    assert.deepEqual(r.executed, ['info', 'bad']);
    assert.deepEqual(paths(), ['/distributed/read', '/distributed/write']);
    assert.equal(bodyText(req(0)), '{"node_key":"k"}');
    assert.equal(
      bodyText(req(1)),
      '{"queries":{"info":[{"version":"5.23.1"}],"bad":[]},"statuses":{"info":0,"bad":1},' +
        '"messages":{"info":"","bad":"no such table: nope"},' +
        '"stats":{"info":{"wall_time_ms":3,"user_time":1,"system_time":0,"memory":16384},"bad":{"wall_time_ms":1,"user_time":0,"system_time":0,"memory":0}},' +
        '"node_key":"k"}',
    );
    assert.equal(headerOf(req(1), 'authorization'), 'NodeKey k');
  });

  it('does not write when there is nothing to do', async () => {
    const s = standin({ nodeKey: 'k', queryEngine: engine });
    const r = await s.runDistributedOnce();
    assert.equal(r.write, undefined);
    assert.deepEqual(paths(), ['/distributed/read']);
  });

  it('drops the whole batch when a value is not a non-empty string', async () => {
    for (const body of [{ queries: { a: 'SELECT 1', b: 7 } }, { queries: { a: 'SELECT 1', b: '' } }, { queries: { a: 'SELECT 1' }, discovery: { a: ['x'] } }]) {
      server.requests.length = 0;
      server.script([reply(200, body)]);
      const s = standin({ nodeKey: 'k', queryEngine: engine });
      const r = await s.runDistributedOnce();
      assert.equal(r.accepted, false);
      assert.match(r.rejected ?? '', /not a string/);
      assert.deepEqual(paths(), ['/distributed/read']);
    }
  });

  it('honours per-query discovery since 5.8 (skipped queries are absent from the write)', async () => {
    server.script([reply(200, {
      queries: { yes: 'SELECT version FROM osquery_info', no: 'SELECT version FROM osquery_info', plain: 'SELECT version FROM osquery_info' },
      discovery: { yes: 'SELECT 1', no: 'SELECT 0', unrelated: 'SELECT * FROM nope' },
    })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine });
    const r = await s.runDistributedOnce();
    assert.deepEqual(r.executed, ['yes', 'plain']);
    assert.deepEqual(r.skipped, ['no']);
    const write = bodyJson(req(1)) as { queries: object; statuses: object };
    assert.deepEqual(Object.keys(write.queries), ['yes', 'plain']);
    assert.deepEqual(Object.keys(write.statuses), ['yes', 'plain']);
  });

  it('drops the whole batch when a discovery query fails', async () => {
    server.script([reply(200, { queries: { a: 'SELECT 1', b: 'SELECT 1' }, discovery: { b: 'SELECT * FROM nope' } })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine });
    const r = await s.runDistributedOnce();
    assert.equal(r.accepted, false);
    assert.deepEqual(r.executed, []);
    assert.deepEqual(paths(), ['/distributed/read']);
  });

  it('uses the pre-5.8 discovery semantics for older versions', async () => {
    const q = { a: 'SELECT 1', b: 'SELECT 1', c: 'SELECT 1' };
    server.script([reply(200, { queries: q, discovery: { a: 'SELECT 1', b: 'SELECT 0' } })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine, version: '5.7.0' });
    assert.deepEqual((await s.runDistributedOnce()).executed, ['a']);
    server.script([reply(200, { queries: q, discovery: { a: 'SELECT 0', b: 'SELECT 0' } })]);
    assert.deepEqual((await s.runDistributedOnce()).executed, ['a', 'b', 'c']);
    // Before 5.8 there is no `stats`.
    const write = bodyText(server.requests[server.requests.length - 1] ?? req(0));
    assert.ok(write.startsWith('{"queries":{"a":[{"1":"1"}],"b":[{"1":"1"}],"c":[{"1":"1"}]},"statuses":{"a":0,"b":0,"c":0},"messages":{"a":"","b":"","c":""},"node_key":"k"}'));
  });

  it('sends legacy shapes for 2.x: string statuses, "" rows, no messages', async () => {
    server.script([reply(200, { queries: { a: 'SELECT 0', b: 'SELECT 1' } })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine, version: '2.11.2' });
    await s.runDistributedOnce();
    assert.equal(bodyText(req(1)), '{"queries":{"a":"","b":[{"1":"1"}]},"statuses":{"a":"0","b":"0"},"node_key":"k"}');
  });

  it('honours an integer accelerate only', async () => {
    let now = FIXED_NOW;
    server.script([reply(200, { accelerate: '60' }), reply(200, { accelerate: 60 })]);
    const s = standin({ nodeKey: 'k', queryEngine: engine, distributedIntervalSec: 30, now: () => now });
    const a = await s.runDistributedOnce();
    assert.equal(a.accelerate, undefined);
    assert.equal(a.nextIntervalSec, 30);
    const b = await s.runDistributedOnce();
    assert.equal(b.accelerate, 60);
    assert.equal(b.nextIntervalSec, 5);
    now += 61_000;
    assert.equal(s.distributedIntervalSec, 30);
  });

  it('keeps results of a failed write and re-sends them merged next cycle', async () => {
    server.script([
      reply(200, { queries: { a: 'SELECT 1' } }),
      reply(500, { error: 'db down' }), reply(500, { error: 'db down' }), reply(500, { error: 'db down' }),
      reply(200, { queries: { b: 'SELECT 1' } }),
    ]);
    const s = standin({ nodeKey: 'k', queryEngine: engine });
    const first = await s.runDistributedOnce();
    assert.equal(first.write?.ok, false);
    assert.equal(first.write.attempts, 3);
    const second = await s.runDistributedOnce();
    assert.equal(second.write?.ok, true);
    const write = bodyJson(req(5)) as { queries: object };
    assert.deepEqual(Object.keys(write.queries), ['a', 'b']);
  });

  it('answers from the default engine, including no such table and denylisted queries', async () => {
    server.script([reply(200, { queries: {
      one: 'SELECT 1',
      ver: 'SELECT version, platform_mask AS mask FROM osquery_info',
      apps: 'SELECT * FROM apps',
      deny: 'SELECT * FROM processes',
    } })]);
    const s = standin({ nodeKey: 'k', denylist: ['SELECT * FROM processes'] });
    await s.runDistributedOnce();
    const w = bodyJson(req(1)) as { queries: Record<string, unknown>; statuses: Record<string, number>; messages: Record<string, string>; stats: Record<string, object> };
    assert.deepEqual(w.queries['one'], [{ '1': '1' }]);
    assert.deepEqual(w.queries['ver'], [{ version: '5.23.1', mask: '9' }]);
    assert.deepEqual(w.queries['apps'], []);
    assert.equal(w.statuses['apps'], 1);
    assert.equal(w.messages['apps'], 'no such table: apps');
    assert.equal(w.messages['deny'], 'distributed query is denylisted');
    assert.deepEqual(w.stats['deny'], {});
    assert.deepEqual(Object.keys(w.stats['one'] ?? {}), ['wall_time_ms', 'user_time', 'system_time', 'memory']);
  });
});

describe('carve', () => {
  it('begins with integer fields then sends blocks in order without node_key', async () => {
    server.script([reply(200, { session_id: 'sess-1', success: true })]);
    const s = standin({ nodeKey: 'k' });
    const data = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
    const r = await s.carve(data, { blockSize: 8, carveId: 'guid-1', requestId: 'req-1' });
    assert.equal(r.ok, true);
    assert.deepEqual(r.blocksSent, [0, 1, 2]);
    assert.deepEqual(paths(), ['/carve/begin', '/carve/block', '/carve/block', '/carve/block']);
    assert.equal(bodyText(req(0)), '{"block_count":3,"block_size":8,"carve_size":20,"carve_id":"guid-1","request_id":"req-1","node_key":"k"}');
    for (let i = 0; i < 3; i++) {
      const b = req(i + 1);
      assert.equal(bodyText(b), `{"block_id":${i},"session_id":"sess-1","request_id":"req-1","data":"${data.subarray(i * 8, i * 8 + 8).toString('base64')}"}`);
      assert.equal(headerOf(b, 'authorization'), 'NodeKey k');
    }
    assert.ok(bodyText(req(3)).endsWith('"data":"EBESEw=="}'));
  });

  it('needs a non-empty string session_id and ignores error keys on blocks', async () => {
    server.script([reply(200, { session_id: 5 })]);
    const s = standin({ nodeKey: 'k' });
    const r = await s.carve(Buffer.from('abc'));
    assert.equal(r.ok, false);
    assert.equal(server.requests.length, 1);
    server.requests.length = 0;
    server.script([reply(200, { session_id: 's' })], reply(400, { error: 'rejected' }));
    const ok = await s.carve(Buffer.from('abc'), { blockSize: 2 });
    assert.equal(ok.ok, true);
    assert.equal(server.requests.length, 3);
  });

  it('retries a failing block 3 times and aborts since 5.22; skips it before', async () => {
    const failSecond: Handler = (req, r) => {
      if (req.path.endsWith('/begin')) r.send(200, { session_id: 's' });
      else if (bodyText(req).includes('"block_id":1')) r.send(200, 'not json');
      else r.send(200, {});
    };
    server.handler = failSecond;
    const s = standin({ nodeKey: 'k', version: '5.22.1' });
    const r = await s.carve(Buffer.alloc(30), { blockSize: 10 });
    assert.equal(r.ok, false);
    assert.deepEqual(r.blocksSent, [0]);
    assert.deepEqual(r.blocksFailed, [1]);
    assert.equal(server.requests.length, 1 + 1 + 3);
    assert.deepEqual(sleeps, [1000, 4000]);
    assert.equal(headerOf(req(1), 'authorization'), undefined);

    server.requests.length = 0;
    sleeps = [];
    const old = standin({ nodeKey: 'k', version: '5.21.0' });
    const o = await old.carve(Buffer.alloc(30), { blockSize: 10 });
    assert.deepEqual(o.blocksSent, [0, 2]);
    assert.deepEqual(o.blocksFailed, [1]);
    assert.equal(server.requests.length, 4);
    assert.deepEqual(sleeps, []);
  });
});

describe('run loop', () => {
  it('enrolls, fetches config, then flushes logs and checks in periodically until stopped', async () => {
    server.handler = (r, res) => {
      if (r.path.endsWith('/enroll')) res.send(200, { node_key: 'loop' });
      else if (r.path.endsWith('/distributed/read')) res.send(200, { queries: { q: 'SELECT 1' } });
      else res.send(200, {});
    };
    const s = new OsquerydStandin({
      tlsHostname: server.tlsHostname, ca: cert.cert, profile: makeHostProfile('windows', 1),
      distributedIntervalSec: 0.02, loggerPeriodSec: 0.02, enrollAlways: true, nodeKey: 'stale',
    });
    standins.push(s);
    s.logStatus(0, 'started');
    await s.start();
    await new Promise((r) => setTimeout(r, 150));
    await s.stop();
    const p = paths();
    assert.deepEqual(p.slice(0, 2), ['/enroll', '/config']);
    assert.ok(p.filter((x) => x === '/distributed/read').length >= 2);
    assert.ok(p.includes('/distributed/write'));
    assert.ok(p.includes('/log'));
    const enroll = bodyJson(req(0)) as { platform_type: string };
    assert.equal(enroll.platform_type, '2');
    const count = server.requests.length;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(server.requests.length, count);
  });

  it('refuses to start the TLS logger without a node key', async () => {
    server.handler = reply(200, {});
    const s = standin({ enrollMaxAttempts: 1 });
    await assert.rejects(s.start(), /Cannot activate tls logger plugin/);
  });
});
