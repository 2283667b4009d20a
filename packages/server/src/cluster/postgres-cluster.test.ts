/**
 * The PostgreSQL cluster bus and leader on a real server (127.0.0.1:5432 or MIMIR_TEST_PG_URL):
 * messages reach the other instances and not the sender, one leader at a time with take-over when
 * it goes, and a lost connection comes back with a local `resync`.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { freshPgDatabase } from '../../test/helper.js';
import type { Cluster, ClusterTopics } from './cluster.js';
import { singleInstanceCluster } from './cluster.js';
import { postgresCluster } from './postgres-cluster.js';

const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });

async function member(t: TestContext, url: string): Promise<Cluster> {
  const c = await postgresCluster({ url, log, leaderPollMs: 100, reconnectMs: 100 });
  t.after(() => c.close());
  return c;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function collect<K extends keyof ClusterTopics>(c: Cluster, topic: K): Array<ClusterTopics[K]> {
  const got: Array<ClusterTopics[K]> = [];
  c.on(topic, (p) => got.push(p));
  return got;
}

void describe('PostgreSQL cluster bus and leader', () => {
  void it('should deliver messages to the other instances only, in order', async (t) => {
    const url = await freshPgDatabase(t);
    const [a, b, c] = [await member(t, url), await member(t, url), await member(t, url)];
    const atA = collect(a, 'hosts.evict');
    const atB = collect(b, 'hosts.evict');
    const atC = collect(c, 'hosts.evict');
    const liveAtB = collect(b, 'live.changed');
    a.publish('hosts.evict', { hostIds: [1, 2] });
    a.publish('hosts.evict', { hostIds: [3] });
    a.publish('live.changed', { id: 7 });
    await until('B and C to hear A', () => atB.length === 2 && atC.length === 2 && liveAtB.length === 1);
    assert.deepEqual(atB, [{ hostIds: [1, 2] }, { hostIds: [3] }]);
    assert.deepEqual(atC, atB);
    assert.deepEqual(liveAtB, [{ id: 7 }]);
    // NOTIFY reaches every listener including the sender's own connection: it must drop its own.
    b.publish('configs.invalidate', {});
    const configsAtA = collect(a, 'configs.invalidate');
    await until('A to hear B', () => configsAtA.length === 1);
    assert.deepEqual(atA, []);
  });

  void it('should refuse a message too large for NOTIFY instead of failing later', async (t) => {
    const url = await freshPgDatabase(t);
    const [a, b] = [await member(t, url), await member(t, url)];
    const atB = collect(b, 'hosts.evict');
    a.publish('hosts.evict', { hostIds: Array.from({ length: 5_000 }, (_, i) => 1_000_000 + i) });
    a.publish('hosts.evict', { hostIds: [1] });
    await until('the small message', () => atB.length === 1);
    assert.deepEqual(atB, [{ hostIds: [1] }]);
  });

  void it('should have exactly one leader, and hand the role over when it goes', async (t) => {
    const url = await freshPgDatabase(t);
    const members = [await member(t, url), await member(t, url), await member(t, url)];
    await until('a leader', () => members.filter((m) => m.isLeader()).length === 1);
    // Stays one over several polls.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(members.filter((m) => m.isLeader()).length, 1);
    const first = members.find((m) => m.isLeader());
    assert.ok(first !== undefined);
    await first.close();
    const rest = members.filter((m) => m !== first);
    await until('a new leader', () => rest.filter((m) => m.isLeader()).length === 1);
    assert.equal(first.isLeader(), false);
  });

  void it('should drop the leader role and resync when its connection is killed, then reconnect', async (t) => {
    const url = await freshPgDatabase(t);
    const a = await member(t, url);
    const b = await member(t, url);
    await until('a leader', () => a.isLeader() || b.isLeader());
    const leader = a.isLeader() ? a : b;
    const other = leader === a ? b : a;
    const resyncs = collect(leader, 'resync');
    // What a database restart or a network cut does to the bus connection.
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // The leader's connection is the one holding the advisory lock in this database.
      const r = await admin.query(`SELECT pg_terminate_backend(l.pid) AS ok FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()`);
      assert.equal(r.rowCount, 1);
    } finally {
      await admin.end();
    }
    await until('the other instance to lead', () => other.isLeader() && !leader.isLeader());
    await until('the bus to come back', () => resyncs.length === 1);
    const heard = collect(leader, 'secrets.invalidate');
    other.publish('secrets.invalidate', {});
    await until('messages again after the reconnect', () => heard.length === 1);
  });

  void it('should be a leader with no peers on SQLite', () => {
    const c = singleInstanceCluster();
    assert.equal(c.isLeader(), true);
    assert.equal(c.mode, 'single');
    c.publish('configs.invalidate', {});
  });
});
