/**
 * WalCheckpointer (issue #9: no fsync on the event loop): the main connection never checkpoints
 * by itself, yet committed pages reach the database file, copied by the worker thread.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqlite } from './sqlite.js';

describe('WalCheckpointer', () => {
  it('turns automatic checkpoints off and moves committed WAL pages into the file from a worker', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mimir-ckpt-'));
    const file = join(dir, 'db.sqlite');
    const warnings: string[] = [];
    const { raw, close } = openSqlite(file, (m) => warnings.push(m));
    t.after(async () => {
      // close() waits for the worker's connection to close before the directory goes.
      await close();
      rmSync(dir, { recursive: true, force: true });
    });
    assert.equal(raw.pragma('wal_autocheckpoint', { simple: true }), 0);
    raw.exec('CREATE TABLE t (v TEXT)');
    const insert = raw.prepare('INSERT INTO t (v) VALUES (?)');
    raw.transaction(() => {
      for (let i = 0; i < 4000; i++) insert.run(`row ${i} ${'x'.repeat(200)}`);
    })();
    const before = statSync(file).size;
    const walBefore = statSync(`${file}-wal`).size;
    assert.ok(walBefore > 500_000, `the commit went to the WAL (${walBefore} bytes)`);
    let after = before;
    for (let i = 0; i < 50 && after < before + 500_000; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = statSync(file).size;
    }
    assert.ok(after >= before + 500_000, `the database file grew from ${before} to ${after} bytes without a checkpoint on this connection`);
    assert.deepEqual(warnings, []);
  });
});
