/**
 * Storage contract (issue #10): the same repositories give the same answers on embedded SQLite
 * and on a real PostgreSQL server (127.0.0.1:5432, or MIMIR_TEST_PG_URL). Each case runs on both,
 * whatever MIMIR_TEST_DATABASE says, on a fresh database.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { isUniqueViolation } from '../src/storage/errors.js';
import { openStore, type Store } from '../src/storage/store.js';
import { freshPgDatabase, tempDir } from './helper.js';

type Backend = 'sqlite' | 'postgres';
const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

async function open(t: TestContext, backend: Backend): Promise<Store> {
  const dataDir = tempDir(t);
  const databaseUrl = backend === 'postgres' ? await freshPgDatabase(t) : undefined;
  const store = await openStore({ dataDir, databaseUrl });
  t.after(() => store.close());
  return store;
}

/** 2023-11-14 in ms: well past 2^31, where a 32-bit column or a string-typed int8 would show. */
const T0 = 1_700_000_000_000;

async function hostIn(store: Store, identifier: string): Promise<number> {
  const group = (await store.groups.findByName('contract')) ?? { id: await store.groups.create('contract', T0) };
  return store.hosts.insert({ identifier, group_id: group.id, hostname: identifier, enrolled_at: T0, created_at: T0, updated_at: T0 });
}

function resultRow(hostId: number, dedup: string, receivedAt = T0, unixTime = 1_700_000_000) {
  return { host_id: hostId, name: 'pack/p/q', action: 'added', columns: '{"a":"1"}', unix_time: unixTime, received_at: receivedAt, dedup };
}

const DAY_MS = 86_400_000;

for (const backend of BACKENDS) {
  void describe(`storage contract on ${backend}`, () => {
    void it('should migrate a fresh database, and migrating again changes nothing', async (t) => {
      const dataDir = tempDir(t);
      const databaseUrl = backend === 'postgres' ? await freshPgDatabase(t) : undefined;
      const first = await openStore({ dataDir, databaseUrl });
      assert.equal(first.dialect.name, backend);
      const groupId = await first.groups.create('kept', T0);
      await first.close();
      const second = await openStore({ dataDir, databaseUrl });
      t.after(() => second.close());
      assert.equal((await second.groups.findByName('kept'))?.id, groupId);
      // The built-in labels are seeded exactly once.
      assert.deepEqual((await second.labels.listAll()).filter((l) => l.label_type === 'builtin').map((l) => l.name), ['All hosts', 'Linux', 'macOS', 'Windows', 'FreeBSD']);
    });

    void it('should return ids, counts and millisecond timestamps as JavaScript numbers', async (t) => {
      const store = await open(t, backend);
      const id = await hostIn(store, 'numbers');
      assert.equal(typeof id, 'number');
      await store.transaction((tx) => tx.hosts.upsertSeen([[id, T0 + 5]]));
      assert.equal(await store.hosts.seenAt(id), T0 + 5);
      const row = await store.hosts.findById(id);
      assert.equal(row?.enrolled_at, T0);
      assert.equal(row.physical_memory, 0);
      await store.hosts.update(id, { physical_memory: 68_719_476_736 }); // 64 GiB
      assert.equal((await store.hosts.findById(id))?.physical_memory, 68_719_476_736);
      assert.equal(await store.hosts.count(), 1);
      assert.equal(typeof (await store.logs.countResults()), 'number');
      const counts = await store.groups.activeSecretCounts();
      assert.ok([...counts.values()].every((n) => typeof n === 'number'));
    });

    void it('should skip rows already stored (insert-or-ignore) and report only what it inserted', async (t) => {
      const store = await open(t, backend);
      const h = await hostIn(store, 'dedup');
      const first = await store.logs.insertResults([resultRow(h, 'a'), resultRow(h, 'b')], { returnStored: true });
      assert.deepEqual([...first.stored].sort(), ['a', 'b']);
      assert.equal(first.count, 2);
      // A resent batch with one new row: only the new row goes in (osquery-protocol.md §4.1).
      const again = await store.logs.insertResults([resultRow(h, 'a'), resultRow(h, 'b'), resultRow(h, 'c')], { returnStored: true });
      assert.deepEqual([...again.stored], ['c']);
      assert.equal(again.count, 1);
      // Without RETURNING the count alone says the same.
      const counted = await store.logs.insertResults([resultRow(h, 'c'), resultRow(h, 'd')]);
      assert.deepEqual({ count: counted.count, stored: counted.stored.size }, { count: 1, stored: 0 });
      assert.equal(await store.logs.countResults(), 4);
      // Label membership: adding members twice counts them once.
      const label = await store.labels.insert({ name: 'manual', label_type: 'manual', created_at: T0, updated_at: T0 });
      assert.equal(await store.labels.addMembers(label, [h], T0), 1);
      assert.equal(await store.labels.addMembers(label, [h], T0), 0);
    });

    void it('should upsert: the second write replaces the first, on one row', async (t) => {
      const store = await open(t, backend);
      await store.settings.set('k', { v: 1 }, T0);
      await store.settings.set('k', { v: 2, nested: ['x'] }, T0 + 1);
      assert.deepEqual(await store.settings.get('k'), { v: 2, nested: ['x'] });
      const h = await hostIn(store, 'upsert');
      const res = { host_id: h, name: 'q1', status: 0, message: '', rows: '[]', row_count: 0, stats: null, received_at: T0 };
      await store.distributed.upsertResults([res]);
      await store.distributed.upsertResults([{ ...res, rows: '[{"a":"1"}]', row_count: 1, received_at: T0 + 1 }]);
      assert.equal(await store.distributed.countResults(), 1);
      assert.equal((await store.distributed.getResult(h, 'q1'))?.row_count, 1);
      // Re-queueing the same (host, name) replaces the item and makes it pending again.
      const item = { host_id: h, name: 'live_1', sql: 'SELECT 1', discovery: null, source: 'live', created_at: T0, expires_at: T0 + 60_000, delivered_at: null, answered_at: null };
      await store.distributed.enqueue([item]);
      const [pending] = await store.distributed.pendingForHost(h, T0);
      assert.ok(pending !== undefined);
      await store.distributed.markDelivered([pending.id], T0);
      assert.deepEqual(await store.distributed.pendingForHost(h, T0), []);
      await store.distributed.enqueue([{ ...item, sql: 'SELECT 2' }]);
      assert.deepEqual((await store.distributed.pendingForHost(h, T0)).map((p) => p.sql), ['SELECT 2']);
      assert.deepEqual(await store.distributed.pendingHostIds(T0), [h]);
      assert.deepEqual(await store.distributed.pendingHostIds(T0 + 60_000), [], 'expired items are not pending');
    });

    void it('should match free text case-insensitively, with % and _ taken literally', async (t) => {
      const store = await open(t, backend);
      for (const name of ['Web Servers', 'db_primary', '100% linux']) {
        await store.labels.insert({ name, label_type: 'manual', created_at: T0, updated_at: T0 });
      }
      const names = async (text: string) => (await store.labels.searchByName(text, 50)).map((l) => l.name);
      assert.deepEqual(await names('web SERVERS'), ['Web Servers']);
      assert.deepEqual(await names('LINUX'), ['Linux', '100% linux']);
      assert.deepEqual(await names('_'), ['db_primary']);
      assert.deepEqual(await names('%'), ['100% linux']);
      assert.deepEqual(await names('b_p'), ['db_primary']);
      assert.deepEqual(await names('d%p'), []);
    });

    void it('should roll a failed transaction back whole, and name unique violations the same way', async (t) => {
      const store = await open(t, backend);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.groups.create('half', T0);
          await tx.settings.set('half', true, T0);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.groups.findByName('half'), undefined);
      assert.equal(await store.settings.get('half'), undefined);
      await store.groups.create('twice', T0);
      const err = await store.groups.create('twice', T0).then(() => undefined, (e: unknown) => e);
      assert.ok(isUniqueViolation(err), `not a unique violation: ${String(err)}`);
      assert.equal(isUniqueViolation(new Error('other')), false);
    });

    void it('should take concurrent upserts of the same rows without errors or duplicates', async (t) => {
      const store = await open(t, backend);
      const h = await hostIn(store, 'concurrent');
      // What several instances do at once: the same seen row, the same setting, the same log batch.
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.transaction((tx) => tx.hosts.upsertSeen([[h, T0 + i]]))));
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.settings.set('same', i, T0 + i)));
      const stored = await Promise.all(Array.from({ length: 10 }, () => store.transaction((tx) => tx.logs.insertResults([resultRow(h, 'x'), resultRow(h, 'y')]))));
      assert.equal(stored.reduce((n, s) => n + s.count, 0), 2, 'each row is inserted by exactly one of the racing batches');
      assert.equal(await store.logs.countResults(), 2);
      assert.equal(typeof (await store.settings.get('same')), 'number');
      const seen = await store.hosts.seenAt(h);
      assert.ok(seen !== undefined && seen >= T0 && seen < T0 + 20);
    });

    void it('should skip last-seen writes for deleted hosts instead of failing the batch', async (t) => {
      const store = await open(t, backend);
      const a = await hostIn(store, 'a');
      const b = await hostIn(store, 'b');
      assert.equal(await store.hosts.delete(b), true);
      await store.transaction((tx) => tx.hosts.upsertSeen([[a, T0], [b, T0]]));
      assert.equal(await store.hosts.seenAt(a), T0);
      assert.equal(await store.hosts.seenAt(b), undefined);
    });

    void it('should delete logs received before a cutoff in batches, and nothing newer', async (t) => {
      const store = await open(t, backend);
      const h = await hostIn(store, 'retention');
      await store.logs.insertResults([resultRow(h, 'old1', T0 - 2_000), resultRow(h, 'old2', T0 - 1_000), resultRow(h, 'new', T0)]);
      assert.equal(await store.logs.deleteReceivedBefore(T0, 1), 1);
      assert.equal(await store.logs.deleteReceivedBefore(T0, 10), 1);
      assert.equal(await store.logs.deleteReceivedBefore(T0, 10), 0);
      assert.deepEqual((await store.logs.listResults({})).map((r) => r.dedup), ['new']);
    });

    void it('should keep exactly what retention keeps whether logs are partitioned (PostgreSQL) or not', async (t) => {
      const store = await open(t, backend);
      const h = await hostIn(store, 'partitions');
      const now = Date.now();
      const daysAgo = (n: number) => now - n * DAY_MS;
      const secs = (ms: number) => Math.floor(ms / 1000);
      await store.logs.insertResults([
        resultRow(h, 'five-days', daysAgo(5), secs(daysAgo(5))),
        resultRow(h, 'four-days', daysAgo(4), secs(daysAgo(4))),
        // An offline host's old line delivered today: its day is kept until it ages out too.
        resultRow(h, 'late', now, secs(daysAgo(4))),
        // A host clock in 1970: no daily partition, the default one; retention by received_at.
        resultRow(h, 'skewed-old', daysAgo(5), 86_400),
        resultRow(h, 'skewed-new', now, 86_400),
        resultRow(h, 'today', now, secs(now)),
      ]);
      await store.logs.insertStatuses([{ host_id: h, unix_time: secs(daysAgo(5)), severity: 0, message: 'old', received_at: daysAgo(5), dedup: 's-old' }]);
      const cutoff = daysAgo(2);
      const dropped = await store.logs.dropPartitionsBefore(cutoff);
      if (backend === 'postgres') {
        const day = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, '');
        // Whole days before the cutoff go (empty ones too); four days ago holds a late line and stays.
        assert.ok(dropped.includes(`result_logs_p${day(daysAgo(5))}`) && dropped.includes(`status_logs_p${day(daysAgo(5))}`), dropped.join());
        assert.ok(!dropped.includes(`result_logs_p${day(daysAgo(4))}`), 'a partition with a late line stays');
        assert.ok(dropped.every((name) => name.slice(-8) < day(cutoff)), `only days before the cutoff: ${dropped.join()}`);
      } else {
        assert.deepEqual(dropped, []);
      }
      while ((await store.logs.deleteReceivedBefore(cutoff, 2)) > 0) { /* batches */ }
      assert.deepEqual((await store.logs.listResults({})).map((r) => r.dedup).sort(), ['late', 'skewed-new', 'today']);
      assert.equal(await store.logs.countStatuses(), 0);
      // A resent batch still meets its original, partitioned or not.
      assert.equal((await store.logs.insertResults([resultRow(h, 'late', now + 1, secs(daysAgo(4)))])).count, 0);
      assert.deepEqual(await store.logs.ensurePartitions(now), 0, 'the partitions ahead already exist');
    });
  });
}
