/**
 * LogWriter (issue #9 "batched ingestion through one writer"; S8 "a batch is stored whole or not at
 * all"): requests waiting together share one transaction, each caller settles only after the
 * commit, and a request that fails fails alone, with nothing of it stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { openStore, type Store } from '../storage/store.js';
import type { NewResultLog } from '../storage/repositories/logs.repository.js';
import { LogWriter } from './log-writer.js';

const NOW = 1_704_207_900_000;

async function open(t: TestContext): Promise<{ store: Store; hostId: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-writer-'));
  const store = await openStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const groupId = await store.groups.create('default', NOW);
  const hostId = await store.hosts.insert({ identifier: 'h-1', group_id: groupId, hostname: 'h-1' });
  return { store, hostId };
}

function rows(hostId: number, tag: string, n: number): NewResultLog[] {
  return Array.from({ length: n }, (_, i) => ({
    host_id: hostId, name: 'pack/p/q', pack: 'p', query: 'q', action: 'added', columns: JSON.stringify({ tag, i }),
    unix_time: 1_704_207_845, received_at: NOW, dedup: `${tag}-${i}`,
  }));
}

/** Counts the transactions the store opens. */
function countingTransactions(store: Store): { store: Store; count: () => number } {
  let n = 0;
  const counted: Store = { ...store, transaction: (fn) => { n++; return store.transaction(fn); } };
  return { store: counted, count: () => n };
}

describe('LogWriter', () => {
  it('stores requests that wait together in one transaction and answers each with its own count', async (t) => {
    const { store, hostId } = await open(t);
    const c = countingTransactions(store);
    const writer = new LogWriter(c.store);
    const results = await Promise.all(['a', 'b', 'c'].map((tag, k) => writer.write(k + 1, (tx) => tx.logs.insertResults(rows(hostId, tag, k + 1)))));
    assert.deepEqual(results.map((r) => r.count), [1, 2, 3]);
    assert.equal(c.count(), 1, 'three requests queued in one turn share one transaction');
    assert.equal(await store.logs.countResults(), 6);
    // A resend (osquery-protocol.md §4.1) stores nothing twice; the stored set names only new rows.
    const again = await writer.write(3, (tx) => tx.logs.insertResults([...rows(hostId, 'c', 3), ...rows(hostId, 'd', 1)], { returnStored: true }));
    assert.equal(again.count, 1);
    assert.deepEqual([...again.stored], ['d-0']);
    assert.equal(await store.logs.countResults(), 7);
  });

  it('isolates a failing request: the others commit, the failure rejects alone and stores nothing', async (t) => {
    const { store, hostId } = await open(t);
    const c = countingTransactions(store);
    const writer = new LogWriter(c.store);
    const good1 = writer.write(2, (tx) => tx.logs.insertResults(rows(hostId, 'good1', 2)));
    const bad = writer.write(2, async (tx) => {
      await tx.logs.insertResults(rows(hostId, 'bad', 2));
      throw new Error('disk on fire');
    });
    const good2 = writer.write(2, (tx) => tx.logs.insertResults(rows(hostId, 'good2', 2)));
    const settled = await Promise.allSettled([good1, bad, good2]);
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
    const [, failed] = settled;
    assert.equal(failed.status === 'rejected' ? (failed.reason as Error).message : '', 'disk on fire');
    const stored = (await store.logs.listResults({ limit: 100 })).map((r) => r.dedup).sort();
    assert.deepEqual(stored, ['good1-0', 'good1-1', 'good2-0', 'good2-1'], 'no row of the failed request, every row of the others');
    assert.equal(c.count(), 4, 'one shared attempt, then one transaction per request');
  });

  it('caps the rows of one transaction and keeps order across transactions', async (t) => {
    const { store, hostId } = await open(t);
    const c = countingTransactions(store);
    const writer = new LogWriter(c.store, { concurrency: 1, maxRows: 5 });
    const order: string[] = [];
    await Promise.all(['a', 'b', 'c', 'd'].map((tag) => writer.write(3, async (tx) => {
      order.push(tag);
      return tx.logs.insertResults(rows(hostId, tag, 3));
    })));
    assert.deepEqual(order, ['a', 'b', 'c', 'd']);
    assert.equal(c.count(), 4, '3 + 3 rows exceed 5: each request gets its own transaction');
    assert.equal(await store.logs.countResults(), 12);
  });
});
