/**
 * Scale-out end to end (issue #10): three `mimir serve` processes on one PostgreSQL behind nginx,
 * stand-in osqueryd hosts spread across them (some pinned to one instance, some through the load
 * balancer, which sends each request to the next instance). Checks:
 * - exactly one leader, and another takes over when it is killed;
 * - a pack created through A reaches hosts checking in on B, C and the balancer (config caches
 *   dropped everywhere), and every instance reports it;
 * - a live query started through A reaches hosts on B and C (pending set shared), and the results
 *   they post there stream to the operator connected to A over SSE;
 * - a re-enroll through B kills the old node key on C at once (host cache evicted everywhere);
 * - an instance killed (SIGKILL) while hosts post logs through the balancer loses nothing it
 *   acknowledged.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import pg from 'pg';
import { OsquerydStandin, makeHostProfile, type HostProfile, type OsquerydStandinOptions } from '@mimir/osquery-protocol/standin';
import { freshPgDatabase, tempDir } from '../../packages/server/test/helper.js';
import { ADMIN, SECRET, ready, request, startInstance, startNginx, waitFor, type Instance } from './harness.js';

interface SseEvent {
  event: string;
  data: unknown;
}

/** Read an SSE stream until `done` (or the server closes it). */
function readStream(port: number, ca: string, path: string, token: string, onOpen: () => void): Promise<SseEvent[]> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, ca, servername: 'localhost', agent: false },
      (res) => {
        const events: SseEvent[] = [];
        let buf = '';
        let opened = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data += line.slice(6);
            }
            if (data === '') continue;
            events.push({ event, data: JSON.parse(data) as unknown });
            if (!opened) {
              opened = true;
              onOpen();
            }
            if (event === 'done') {
              req.destroy();
              resolve(events);
            }
          }
        });
        res.on('end', () => resolve(events));
      },
    );
    req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
    req.end();
  });
}

describe('several Mimir instances on one PostgreSQL behind nginx', { timeout: 600_000 }, () => {
  void it('should share live queries, pack rollouts, node keys and the leader role, and survive a killed instance', async (t: TestContext) => {
    const dir = tempDir(t, 'mimir-cluster-');
    const databaseUrl = await freshPgDatabase(t);
    const env = {
      MIMIR_DATABASE_URL: databaseUrl,
      MIMIR_DATA_DIR: dir,
      MIMIR_ENROLL_SECRET: SECRET,
      MIMIR_ADMIN_EMAIL: ADMIN.email,
      MIMIR_ADMIN_PASSWORD: ADMIN.password,
    };
    const caPath = join(dir, 'tls', 'ca.pem');

    // A first (it creates the CA, the schema and the admin), then B and C together.
    const a = await startInstance(t, 'A', env);
    await ready(a, caPath);
    const [b, c] = await Promise.all([startInstance(t, 'B', env), startInstance(t, 'C', env)]);
    await Promise.all([ready(b, caPath), ready(c, caPath)]);
    const ca = readFileSync(caPath, 'utf8');
    const all: Instance[] = [a, b, c];

    const health = async (inst: Instance) => (await request(inst.port, ca, '/healthz')).json as { instance: string; leader: boolean };
    const leaders = async (list: readonly Instance[]) => (await Promise.all(list.map(health))).filter((h) => h.leader).length;
    const ids = await Promise.all(all.map(health));
    assert.equal(new Set(ids.map((h) => h.instance)).size, 3, 'three distinct instances');
    assert.equal(await waitFor('one leader', async () => ((await leaders(all)) === 1 ? true : undefined)), true);

    const lb = await startNginx(t, dir, join(dir, 'tls'), all.map((i) => i.port));

    // An operator token, made through A and valid everywhere (one database).
    const login = await request(a.port, ca, '/api/v1/session', { method: 'POST', body: { email: ADMIN.email, password: ADMIN.password } });
    assert.equal(login.status, 200, login.text);
    const cookie = (login.headers['set-cookie']?.[0] ?? '').split(';')[0] ?? '';
    const csrf = (login.json as { csrfToken: string }).csrfToken;
    const made = await request(a.port, ca, '/api/v1/tokens', { method: 'POST', body: { name: 'cluster test' }, headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(made.status, 201, made.text);
    const token = (made.json as { token: string }).token;
    const apiOn = async <T>(inst: { port: number }, method: string, path: string, body?: unknown, expect = 200): Promise<T> => {
      const r = await request(inst.port, ca, path, { method, body, headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, expect, `${method} ${path}: ${r.text}`);
      return r.json as T;
    };

    // Hosts: two pinned to B, two pinned to C, two through the balancer.
    const standin = (port: number, profile: HostProfile, extra: Partial<OsquerydStandinOptions> = {}) => {
      const os = new OsquerydStandin({ tlsHostname: `localhost:${port}`, ca, enrollSecret: SECRET, profile, sleep: () => Promise.resolve(), ...extra });
      t.after(() => os.close());
      return os;
    };
    const onB = [standin(b.port, makeHostProfile('ubuntu', 1)), standin(b.port, makeHostProfile('rhel', 2))];
    const onC = [standin(c.port, makeHostProfile('ubuntu', 3)), standin(c.port, makeHostProfile('macos', 4))];
    const viaLb = [standin(lb.port, makeHostProfile('ubuntu', 5)), standin(lb.port, makeHostProfile('windows', 6))];
    const hosts = [...onB, ...onC, ...viaLb];
    for (const h of hosts) {
      assert.equal((await h.enroll()).ok, true);
      // Each instance now has these configs cached: the rollout below must drop them everywhere.
      assert.equal((await h.config()).ok, true);
    }

    // --- pack rollout through A, seen by hosts on B, C and the balancer, and by every instance.
    const pack = await apiOn<{ pack: { id: number } }>(a, 'POST', '/api/v1/packs', {
      name: 'cluster-rollout',
      targets: [{ groupId: 1 }],
      queries: [{ name: 'uptime', sql: 'SELECT total_seconds FROM uptime;', interval: 300 }],
    }, 201);
    for (const h of hosts) {
      await waitFor('the pack in every host config', async () => {
        const cfg = await h.config();
        const packs = (cfg.ok ? cfg.body['packs'] ?? {} : {}) as Record<string, unknown>;
        return packs['cluster-rollout'] !== undefined ? true : undefined;
      }, 10_000, 200);
    }
    for (const inst of all) {
      const seen = await apiOn<{ name: string; queries: Array<{ name: string }> }>(inst, 'GET', `/api/v1/packs/${pack.pack.id}`);
      assert.deepEqual([seen.name, seen.queries.map((q) => q.name)], ['cluster-rollout', ['uptime']]);
    }

    // --- a live query started through A, answered on B, C and the balancer, streamed on A.
    const lq = await apiOn<{ id: number }>(a, 'POST', '/api/v1/live-queries', { sql: 'SELECT 1 AS one;', targets: { all: true } }, 201);
    const streamed = readStream(a.port, ca, `/api/v1/live-queries/${lq.id}/stream`, token, () => {
      void (async () => {
        for (const h of hosts) {
          // B and C learn of the new queue items over the bus: poll until the query arrives.
          await waitFor('the live query to reach the host', async () => {
            const run = await h.runDistributedOnce();
            return run.executed.some((id) => id.startsWith(`mimir_live_${lq.id}`)) ? true : undefined;
          }, 15_000, 200);
        }
      })();
    });
    const events = await streamed;
    const answered = new Set<number>();
    for (const e of events.filter((x) => x.event === 'result')) {
      for (const r of (e.data as { results: Array<{ hostId: number; status: string; rows: unknown[] }> }).results) {
        assert.equal(r.status, 'successful');
        assert.equal(r.rows.length, 1);
        assert.match(JSON.stringify(r.rows[0]), /"one":"1"/);
        answered.add(r.hostId);
      }
    }
    assert.equal(answered.size, hosts.length, 'every host answer streamed to the operator on A');
    assert.equal(events.at(-1)?.event, 'done');
    for (const inst of [b, c]) {
      const seen = await apiOn<{ counts: { responded: number; successful: number } }>(inst, 'GET', `/api/v1/live-queries/${lq.id}`);
      assert.deepEqual([seen.counts.responded, seen.counts.successful], [hosts.length, hosts.length]);
    }

    // --- re-enroll through B: the old key stops working on C at once.
    const profile = makeHostProfile('ubuntu', 7);
    const onCAgain = standin(c.port, profile);
    assert.equal((await onCAgain.enroll()).ok, true);
    const oldKey = await onCAgain.getNodeKey();
    assert.equal((await onCAgain.config()).ok, true, 'cached on C now');
    const onBAgain = standin(b.port, profile);
    assert.equal((await onBAgain.enroll()).ok, true);
    assert.notEqual(await onBAgain.getNodeKey(), oldKey);
    await waitFor('C to drop the old node key', async () => {
      // An osqueryd that still has the old key and does not re-enroll on node_invalid.
      const stale = standin(c.port, profile, { disableReenrollment: true, configMaxAttempts: 1 });
      stale.setNodeKey(oldKey);
      const r = await stale.config();
      return !r.ok && /Invalid node key/.test(r.error) ? true : undefined;
    }, 10_000, 200);

    // --- kill the leader while hosts post logs through the balancer: nothing acknowledged is lost.
    const leader = (await Promise.all(all.map(async (i) => ((await health(i)).leader ? i : undefined)))).find((i) => i !== undefined);
    assert.ok(leader !== undefined);
    const acknowledged: string[] = [];
    let killed = false;
    const sender = (async () => {
      for (let i = 0; i < 60; i++) {
        const h = viaLb[i % viaLb.length];
        if (h === undefined) break;
        const marker = `m${i}`;
        h.logResult(JSON.stringify({ name: 'pack/cluster-rollout/uptime', hostIdentifier: 'x', calendarTime: 'Mon Jan  1 00:00:00 2024 UTC', unixTime: 1_704_067_200 + i, epoch: 0, counter: i, numerics: false, columns: { marker }, action: 'added' }));
        const r = await h.flushLogs();
        if (r.results?.ok === true) acknowledged.push(marker);
        if (i === 20) {
          await leader.kill();
          killed = true;
        }
      }
    })();
    await sender;
    assert.equal(killed, true);
    assert.ok(acknowledged.length >= 50, `the balancer kept accepting logs: ${acknowledged.length} of 60`);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const rows = await db.query<{ marker: string }>(`SELECT columns::json->>'marker' AS marker FROM result_logs WHERE name = 'pack/cluster-rollout/uptime'`).finally(() => db.end());
    const stored = new Set(rows.rows.map((r) => r.marker));
    assert.deepEqual(acknowledged.filter((m) => !stored.has(m)), [], 'every acknowledged log line is stored');

    // --- the survivors elect a new leader.
    const survivors = all.filter((i) => i.alive());
    assert.equal(survivors.length, 2);
    assert.equal(await waitFor('a new leader', async () => ((await leaders(survivors)) === 1 ? true : undefined), 30_000, 250), true);
    assert.equal(lb.alive(), true);
  });
});
