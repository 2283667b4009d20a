/**
 * In-process jobs (issue #3 "Retention"): with `results.retention` set, the retention job drops
 * result and status rows received before now − retention and keeps newer ones, on an injected
 * clock. Also: jobs never overlap themselves, failures are logged rather than thrown, and stop()
 * waits for a run in progress.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { CarveService } from '../services/carves/carve.service.js';
import { HostCache } from '../services/host-cache.js';
import { openStore, type Store } from '../storage/store.js';
import { startJobs, type Jobs } from './jobs.js';

const HOUR = 3_600_000;

interface Fixture {
  store: Store;
  hostId: number;
  clock: { now: number };
  logs: string[];
  start(retentionSeconds: number, store?: Store): Jobs;
}

async function open(t: TestContext): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-jobs-'));
  const store = await openStore({ dataDir: dir });
  const clock = { now: Date.UTC(2024, 0, 2, 12) };
  const logs: string[] = [];
  const log = pino({ level: 'error' }, { write: (s: string) => logs.push(s) });
  const jobs: Jobs[] = [];
  t.after(async () => {
    for (const j of jobs) await j.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const groupId = await store.groups.create('default', clock.now);
  const hostId = await store.hosts.insert({ identifier: 'h-1', group_id: groupId });
  const start = (retentionSeconds: number, s: Store = store) => {
    const carves = new CarveService(s, { dataDir: dir, maxBlockSize: 1024, maxCarveSize: 1024 * 1024, expiryMs: HOUR });
    const j = startJobs({ store: s, cache: new HostCache(s), carves, log, now: () => clock.now, retentionSeconds });
    jobs.push(j);
    return j;
  };
  return { store, hostId, clock, logs, start };
}

/** One result row and one status row received at `receivedAt`. */
async function received(f: Fixture, receivedAt: number, tag: string): Promise<void> {
  await f.store.logs.insertResults([{
    host_id: f.hostId, name: 'pack/p/q', pack: 'p', query: 'q', action: 'added', columns: JSON.stringify({ tag }), decorations: '{}',
    unix_time: Math.floor(receivedAt / 1000), epoch: 0, counter: 0, received_at: receivedAt, dedup: `r-${tag}`,
  }]);
  await f.store.logs.insertStatuses([{
    host_id: f.hostId, unix_time: Math.floor(receivedAt / 1000), severity: 0, filename: 'a.cpp', line: 1, message: tag, version: '5.23.1',
    received_at: receivedAt, dedup: `s-${tag}`,
  }]);
}

async function kept(store: Store): Promise<{ results: string[]; statuses: string[] }> {
  const results = (await store.logs.listResults({ limit: 100 })).map((r) => (JSON.parse(r.columns) as { tag: string }).tag).sort();
  const statuses = (await store.logs.listStatuses({ limit: 100 })).map((r) => r.message).sort();
  return { results, statuses };
}

void describe('jobs: result retention', () => {
  void it('should delete result and status rows older than the retention and keep newer ones', async (t) => {
    const f = await open(t);
    const now = f.clock.now;
    await received(f, now - 48 * HOUR, 'two-days');
    await received(f, now - 2 * HOUR, 'two-hours');
    await received(f, now - HOUR, 'exactly-at-cutoff');
    await received(f, now - 10 * 60_000, 'ten-minutes');
    await received(f, now, 'now');

    const jobs = f.start(3600);
    await jobs.run('result-retention');
    const afterFirst = { results: ['exactly-at-cutoff', 'now', 'ten-minutes'], statuses: ['exactly-at-cutoff', 'now', 'ten-minutes'] };
    assert.deepEqual(await kept(f.store), afterFirst);

    // Nothing aged: a second run removes nothing.
    await jobs.run('result-retention');
    assert.deepEqual(await kept(f.store), afterFirst);

    // The clock moves on 55 minutes: what is now older than an hour goes.
    f.clock.now += 55 * 60_000;
    await jobs.run('result-retention');
    assert.deepEqual(await kept(f.store), { results: ['now'], statuses: ['now'] });
    assert.deepEqual(f.logs, []);
  });

  void it('should run retention every 10 minutes, keep everything at 0, and follow the settings override', async (t) => {
    const f = await open(t);
    const on = f.start(30 * 86_400);
    assert.deepEqual(on.schedule.find((s) => s.name === 'result-retention'), { name: 'result-retention', everyMs: 600_000, scope: 'leader' });
    // MIMIR_RESULT_RETENTION=0 keeps results forever.
    await received(f, f.clock.now - 1000 * 86_400 * 1000, 'ancient');
    const off = f.start(0);
    await off.run('result-retention');
    assert.deepEqual(await kept(f.store), { results: ['ancient'], statuses: ['ancient'] });
    // An admin sets 10 days in Settings: that wins over the environment's 0.
    await f.store.settings.set('retention', { resultRetentionDays: 10 }, f.clock.now);
    await off.run('result-retention');
    assert.deepEqual(await kept(f.store), { results: [], statuses: [] });
  });

  void it('should log a failing run instead of throwing, and run again next time', async (t) => {
    const f = await open(t);
    await received(f, f.clock.now - 2 * HOUR, 'old');
    let fail = true;
    const flaky: Store = {
      ...f.store,
      transaction: (fn) => (fail ? Promise.reject(new Error('database is locked')) : f.store.transaction(fn)),
    };
    const jobs = f.start(3600, flaky);
    await jobs.run('result-retention');
    assert.equal(f.logs.length, 1);
    assert.match(f.logs[0] ?? '', /job failed/);
    assert.match(f.logs[0] ?? '', /"job":"result-retention"/);
    assert.match(f.logs[0] ?? '', /database is locked/);
    assert.deepEqual((await kept(f.store)).results, ['old']);
    fail = false;
    await jobs.run('result-retention');
    assert.deepEqual(await kept(f.store), { results: [], statuses: [] });
  });

  void it('should never overlap a run with itself, and stop() should wait for a run in progress', async (t) => {
    const f = await open(t);
    await received(f, f.clock.now - 2 * HOUR, 'old');
    let started = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: Store = {
      ...f.store,
      transaction: async (fn) => {
        started++;
        await gate;
        return f.store.transaction(fn);
      },
    };
    const jobs = f.start(3600, slow);
    const a = jobs.run('result-retention');
    const b = jobs.run('result-retention');
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(started, 1, 'the second trigger joined the run in progress');
    let stopped = false;
    const stopping = jobs.stop().then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(stopped, false, 'stop() waits for the run in progress');
    release();
    await Promise.all([a, b, stopping]);
    assert.equal(started, 2, 'one run: a batch that deleted rows, then one that found none');
    assert.deepEqual(await kept(f.store), { results: [], statuses: [] }, 'the run in progress completed');
    await assert.rejects(jobs.run('result-retention'), /stopped/);
  });
});
