/**
 * SavedQueryService on a real store: loading prebuilt queries across upgrades, and the rules
 * that hold whatever the HTTP layer lets through (the service is also used by other areas).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { isDomainError } from '../../errors.js';
import { openStore, type Store } from '../../storage/store.js';
import { PREBUILT_QUERIES, type PrebuiltQuery } from './prebuilt-queries.js';
import { SavedQueryService } from './saved-query.service.js';

async function store(t: TestContext): Promise<Store> {
  const dir = mkdtempSync(join(tmpdir(), 'mimir-saved-queries-'));
  const s = await openStore({ dataDir: dir });
  t.after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

const codeOf = (err: unknown): string => (isDomainError(err) ? `${err.status} ${err.code}` : String(err));

void describe('SavedQueryService', () => {
  void it('should load prebuilt queries once, update changed ones and drop ones no longer shipped', async (t) => {
    const s = await store(t);
    const svc = new SavedQueryService(s);
    assert.deepEqual(await svc.ensurePrebuilt(1000), { created: PREBUILT_QUERIES.length, updated: 0, removed: 0 });
    assert.deepEqual(await svc.ensurePrebuilt(2000), { created: 0, updated: 0, removed: 0 });

    const first = PREBUILT_QUERIES[0];
    assert.ok(first !== undefined);
    const changed: PrebuiltQuery[] = [{ ...first, description: 'new wording' }];
    assert.deepEqual(await svc.ensurePrebuilt(3000, undefined, changed), { created: 0, updated: 1, removed: PREBUILT_QUERIES.length - 1 });
    const row = await s.savedQueries.findByName(first.name);
    assert.equal(row?.description, 'new wording');
    assert.equal(row.created_at, 1000, 'created_at is kept');
    assert.equal(row.updated_at, 3000);
  });

  void it('should leave a user query that already has a prebuilt name alone', async (t) => {
    const s = await store(t);
    const svc = new SavedQueryService(s);
    const mine = await svc.create({ name: 'processes_mimir', sql: 'SELECT pid FROM processes' }, 'me@example.com', 1);
    const warnings: unknown[] = [];
    const log = { warn: (o: unknown) => warnings.push(o) } as unknown as Parameters<SavedQueryService['ensurePrebuilt']>[1];
    await svc.ensurePrebuilt(2, log);
    const row = await s.savedQueries.findByName('processes_mimir');
    assert.equal(row?.id, mine.row.id);
    assert.equal(row.prebuilt, 0);
    assert.equal(row.sql, 'SELECT pid FROM processes');
    assert.equal(warnings.length, 1);
  });

  void it('should refuse prebuilt edits, duplicates and invalid values with domain errors', async (t) => {
    const s = await store(t);
    const svc = new SavedQueryService(s);
    await svc.ensurePrebuilt(1);
    const prebuilt = await s.savedQueries.findByName('users_linux_mimir');
    assert.ok(prebuilt !== undefined);
    await assert.rejects(svc.update(prebuilt.id, { description: 'x' }, 'me', 2), (e) => codeOf(e) === '409 read_only');
    await assert.rejects(svc.delete(prebuilt.id), (e) => codeOf(e) === '409 read_only');
    await assert.rejects(svc.create({ name: 'users_linux_mimir', sql: 'SELECT 1' }, 'me', 2), (e) => codeOf(e) === '409 conflict');
    await assert.rejects(svc.create({ name: 'slow', sql: 'SELECT 1', timeout: 30 }, 'me', 2), (e) => codeOf(e) === '422 validation_failed');
    await assert.rejects(svc.create({ name: 'daily_counter', sql: 'SELECT 1' }, 'me', 2), (e) => codeOf(e) === '422 validation_failed');
    await assert.rejects(svc.get(424242), (e) => codeOf(e) === '404 not_found');
    const q = await svc.create({ name: 'multi', sql: 'SELECT 1', platform: ' Linux , darwin,linux ' }, 'me', 2);
    assert.equal(q.row.platform, 'linux,darwin', 'platform words normalized');
    assert.equal((await svc.create({ name: 'anywhere', sql: 'SELECT 1', platform: 'any' }, 'me', 2)).row.platform, '');
  });
});
