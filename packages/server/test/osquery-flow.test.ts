/**
 * End to end over real HTTPS with the osqueryd stand-in (osquery-protocol.md): enroll → config →
 * logs → distributed → carve; re-enroll after node_invalid; duplicate resends; cloned identifiers;
 * restart with data kept; graceful shutdown.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  OsquerydStandin, makeHostProfile, resultEventLine, type HostProfile, type OsquerydStandinOptions,
} from '@mimir/osquery-protocol/standin';
import { hashNodeKey } from '../src/services/host-cache.js';
import { post, rawRequest, startServer, storedCounts, type TestServer } from './helper.js';

const instant = () => Promise.resolve();

function standin(srv: TestServer, profile: HostProfile, extra: Partial<OsquerydStandinOptions> = {}): OsquerydStandin {
  const s = new OsquerydStandin({
    tlsHostname: srv.tlsHostname,
    ca: srv.ca,
    enrollSecret: srv.secret,
    profile,
    sleep: instant,
    ...extra,
  });
  return s;
}

/** A copy of a profile as another osquery instance on a cloned machine (same hardware UUID). */
function cloneOf(p: HostProfile, instanceId: string): HostProfile {
  const tables = structuredClone(p.tables);
  tables.osquery_info = { ...tables.osquery_info, instance_id: instanceId };
  return { ...p, instanceId, tables };
}

async function hostIdOf(srv: TestServer, s: OsquerydStandin): Promise<number> {
  const h = await srv.app.services.cache.authenticate(await s.getNodeKey());
  assert.ok(h, 'host is authenticated');
  return h.id;
}

void describe('osquery flow with the osqueryd stand-in', () => {
  void it('should enroll, serve config, store logs, answer distributed queries and receive a carve', async (t) => {
    const srv = await startServer(t);
    const os = standin(srv, makeHostProfile('ubuntu', 1), { loggerCompress: true });
    t.after(() => os.close());

    const e = await os.enroll();
    assert.equal(e.ok, true);
    const hostId = await hostIdOf(srv, os);

    const cfg = await os.config();
    assert.ok(cfg.ok, JSON.stringify(cfg));
    const options = cfg.body['options'] as Record<string, unknown>;
    assert.equal(options['distributed_interval'], 10, 'numbers are sent as numbers');
    assert.equal(options['pack_delimiter'], '/');

    // Logs: result events (compressed body) and status lines.
    const now = Math.floor(Date.now() / 1000);
    const common = { name: 'pack/it/procs', hostIdentifier: os.hostIdentifier, unixTime: now, epoch: 0, counter: 1, numerics: false };
    os.logResult(resultEventLine(common, { name: 'osqueryd', pid: '97830' }, 'added'));
    os.logResult(resultEventLine(common, { name: 'bash', pid: '1' }, 'removed'));
    os.logStatus(1, 'a warning', { filename: 'config.cpp', line: 12 });
    const flush = await os.flushLogs();
    assert.equal(flush.results?.ok, true, JSON.stringify(flush.results));
    assert.equal(flush.statuses?.ok, true, JSON.stringify(flush.statuses));
    const results = await srv.app.store.logs.listResults({ hostId });
    assert.deepEqual(results.map((r) => [r.pack, r.query, r.action]).sort(), [['it', 'procs', 'added'], ['it', 'procs', 'removed']]);
    const statuses = await srv.app.store.logs.listStatuses({ hostId });
    assert.equal(statuses[0]?.message, 'a warning');
    assert.equal(statuses[0].severity, 1);

    // Distributed: the first read of a new host carries the vitals queries.
    const run1 = await os.runDistributedOnce();
    assert.equal(run1.accepted, true);
    assert.ok(run1.executed.some((id) => id.startsWith('mimir_detail_')), run1.executed.join(','));
    assert.equal(run1.write?.ok, true, JSON.stringify(run1.write));
    const host = await srv.app.store.hosts.findById(hostId);
    assert.equal(host?.hostname, os.profile.hostname);
    assert.equal(host.platform, 'linux');
    assert.equal(host.osquery_version, '5.23.1');
    assert.ok(host.detail_updated_at > 0);

    // Nothing due now: the next read is empty.
    const idle = await os.runDistributedOnce();
    assert.deepEqual(idle.executed, []);

    // A queued query reaches the host on its next read and its result is stored.
    await srv.app.services.distributed.enqueue([{ hostId, name: 'q_info', sql: 'SELECT version FROM osquery_info', source: 'api' }], Date.now());
    await srv.app.services.distributed.enqueue([{ hostId, name: 'q_bad', sql: 'SELECT * FROM nope_table', source: 'api' }], Date.now());
    const run2 = await os.runDistributedOnce();
    assert.deepEqual(run2.executed.sort(), ['q_bad', 'q_info']);
    const ok = await srv.app.store.distributed.getResult(hostId, 'q_info');
    assert.equal(ok?.status, 0);
    assert.deepEqual(JSON.parse(ok.rows), [{ version: '5.23.1' }]);
    const bad = await srv.app.store.distributed.getResult(hostId, 'q_bad');
    assert.equal(bad?.status, 1);
    assert.match(bad.message, /no such table/);
    // Delivered once.
    assert.deepEqual((await os.runDistributedOnce()).executed, []);

    // Carve: 3 blocks of 1000 bytes.
    const data = Buffer.from(Array.from({ length: 2500 }, (_, i) => i % 251));
    const carve = await os.carve(data, { blockSize: 1000 });
    assert.equal(carve.ok, true, carve.error);
    const row = (await srv.app.store.carves.list({ hostId }))[0];
    assert.equal(row?.status, 'complete');
    assert.equal(row.sha256, createHash('sha256').update(data).digest('hex'));
    assert.deepEqual(readFileSync(join(srv.dataDir, 'carves', row.path)), data);
  });

  void it('should make osquery re-enroll after node_invalid, inside its retry loop, and kill the old key', async (t) => {
    const srv = await startServer(t);
    const os = standin(srv, makeHostProfile('macos', 2));
    t.after(() => os.close());
    assert.equal((await os.enroll()).ok, true);
    const oldKey = await os.getNodeKey();
    const hostId = await hostIdOf(srv, os);

    // The server forgets the key (e.g. the host was re-enrolled elsewhere or its key revoked).
    await srv.app.store.hosts.update(hostId, { node_key_hash: hashNodeKey('revoked') });
    srv.app.services.cache.evict(hostId);

    const cfg = await os.config();
    assert.equal(cfg.ok, true, JSON.stringify(cfg));
    assert.equal(cfg.attempts, 2, 'attempt 1 got node_invalid, attempt 2 carried the new key');
    assert.notEqual(await os.getNodeKey(), oldKey);
    assert.equal(await hostIdOf(srv, os), hostId, 'the same host row was re-keyed');
    assert.equal(await srv.app.store.hosts.count(), 1);
    const stale = await post(srv, '/api/v1/osquery/config', { node_key: oldKey });
    assert.equal(stale.status, 401);
    assert.equal((stale.json as { node_invalid?: boolean }).node_invalid, true);
  });

  void it('should not store a resent log batch twice, nor the resent prefix of a grown batch', async (t) => {
    const srv = await startServer(t);
    const os = standin(srv, makeHostProfile('windows', 3));
    t.after(() => os.close());
    await os.enroll();
    const key = await os.getNodeKey();
    const line = (pid: number) => ({ name: 'pack/p/q', hostIdentifier: 'h', calendarTime: 'x', unixTime: 1700000000, epoch: 0, counter: 2, numerics: false, columns: { pid: String(pid) }, action: 'added' });
    const first = [line(1), line(2), line(3)];
    const body = JSON.stringify({ data: first, log_type: 'result', node_key: key });
    assert.equal((await rawRequest(srv, '/api/v1/osquery/log', { body })).status, 200);
    assert.equal((await rawRequest(srv, '/api/v1/osquery/log', { body })).status, 200);
    assert.equal((await storedCounts(srv)).results, 3);
    // After a failed flush osquery re-reads its buffer from the oldest line, now with more lines.
    const grown = JSON.stringify({ data: [...first, line(4), line(5)], log_type: 'result', node_key: key });
    assert.equal((await rawRequest(srv, '/api/v1/osquery/log', { body: grown, gzip: true })).status, 200);
    assert.equal((await storedCounts(srv)).results, 5);
    // Two identical rows in one request (e.g. two processes named bash) are both kept.
    const twins = JSON.stringify({ data: [line(9), line(9)], log_type: 'result', node_key: key });
    assert.equal((await rawRequest(srv, '/api/v1/osquery/log', { body: twins })).status, 200);
    assert.equal((await storedCounts(srv)).results, 7);

    // A distributed write resent after a lost answer changes nothing more.
    const write = { node_key: key, queries: { q1: [{ a: '1' }] }, statuses: { q1: 0 }, messages: { q1: '' } };
    await post(srv, '/api/v1/osquery/distributed/write', write);
    await post(srv, '/api/v1/osquery/distributed/write', write);
    assert.equal((await storedCounts(srv)).distributedResults, 1);
  });

  void it('should keep cloned machines that share a hardware UUID as separate hosts without flapping', async (t) => {
    const srv = await startServer(t);
    const base = makeHostProfile('ubuntu', 4);
    const a = standin(srv, cloneOf(base, 'aaaaaaaa-0000-4000-8000-000000000001'));
    const b = standin(srv, cloneOf(base, 'bbbbbbbb-0000-4000-8000-000000000002'));
    t.after(() => Promise.all([a.close(), b.close()]));
    for (let round = 0; round < 5; round++) {
      for (const os of [a, b]) {
        const r = await os.config();
        assert.equal(r.ok, true, JSON.stringify(r));
        assert.equal(r.attempts, 1, 'no node_invalid: nobody steals anybody');
      }
    }
    assert.equal(a.counters.enrollments, 1);
    assert.equal(b.counters.enrollments, 1);
    assert.equal(await srv.app.store.hosts.count(), 2);
    for (const os of [a, b]) {
      const h = await srv.app.store.hosts.findById(await hostIdOf(srv, os));
      assert.equal(h?.duplicate_identifier, 1);
      assert.equal(h.identifier, base.uuid);
    }
  });

  void it('should bound re-enrolls when two machines share one osquery database (same instance)', async (t) => {
    const srv = await startServer(t);
    const p = makeHostProfile('rhel', 5);
    const a = standin(srv, p);
    const b = standin(srv, p, { enrollMaxAttempts: 2 });
    t.after(() => Promise.all([a.close(), b.close()]));
    assert.equal((await a.enroll()).ok, true);
    assert.equal((await a.config()).ok, true);
    // b enrolls moments later with the same identity while a's key is in use: refused.
    const eb = await b.enroll();
    assert.equal(eb.ok, false);
    for (let i = 0; i < 3; i++) assert.equal((await a.config()).attempts, 1);
    assert.equal(await srv.app.store.hosts.count(), 1);
  });

  void it('should take over the host when osquery is reinstalled (new instance, old one quiet)', async (t) => {
    let clock = Date.now();
    const srv = await startServer(t, { overrides: { now: () => clock } });
    const base = makeHostProfile('ubuntu', 6);
    const old = standin(srv, cloneOf(base, 'old-instance'));
    t.after(() => old.close());
    await old.enroll();
    const id = await hostIdOf(srv, old);
    clock += 10 * 60_000; // the old instance has been silent for 10 minutes
    const fresh = standin(srv, cloneOf(base, 'new-instance'));
    t.after(() => fresh.close());
    await fresh.enroll();
    assert.equal(await hostIdOf(srv, fresh), id);
    assert.equal(await srv.app.store.hosts.count(), 1);
  });

  void it('should keep every row and node key across a restart', async (t) => {
    const srv1 = await startServer(t);
    const os = standin(srv1, makeHostProfile('ubuntu', 7));
    await os.enroll();
    const key = await os.getNodeKey();
    os.logStatus(0, 'hello');
    assert.equal((await os.flushLogs()).statuses?.ok, true);
    await os.close();
    const counts = await storedCounts(srv1);
    await srv1.stop();

    const srv2 = await startServer(t, { dataDir: srv1.dataDir });
    assert.equal(srv2.secret, srv1.secret, 'the generated secret is kept');
    const again = standin(srv2, makeHostProfile('ubuntu', 7), { nodeKey: key });
    t.after(() => again.close());
    const cfg = await again.config();
    assert.equal(cfg.ok, true);
    assert.equal(cfg.attempts, 1, 'the saved node key still works');
    assert.equal(again.counters.enrollments, 0);
    assert.deepEqual(await storedCounts(srv2), counts);
  });

  void it('should lose nothing it acknowledged when shut down under load', async (t) => {
    const srv = await startServer(t);
    const hosts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const os = standin(srv, makeHostProfile('ubuntu', 100 + i));
        await os.enroll();
        return os;
      }),
    );
    let acknowledged = 0;
    const senders = hosts.map(async (os, i) => {
      for (let n = 0; n < 200; n++) {
        const now = Math.floor(Date.now() / 1000);
        os.logResult(resultEventLine({ name: 'pack/load/q', hostIdentifier: os.hostIdentifier, unixTime: now, epoch: 0, counter: n, numerics: false }, { i: String(i), n: String(n) }, 'added'));
        let r;
        try {
          r = await os.flushLogs();
        } catch {
          return;
        }
        if (r.results?.ok !== true) return;
        acknowledged += 1;
      }
    });
    await new Promise((r) => setTimeout(r, 150));
    await srv.stop();
    await Promise.all(senders);
    await Promise.all(hosts.map((h) => h.close()));
    assert.ok(acknowledged > 0, 'some requests were acknowledged before the stop');
    const after = await startServer(t, { dataDir: srv.dataDir });
    assert.ok((await storedCounts(after)).results >= acknowledged, `every acknowledged row is stored (${acknowledged})`);
    // last-seen times were flushed at shutdown
    const h = await after.app.store.hosts.findByIdentifier(hosts[0]?.hostIdentifier ?? '');
    assert.ok((h[0]?.seen_at ?? 0) > 0);
  });
});
