/**
 * The live results store keeps a million rows compactly (issue #7: "no tab crash at 1M rows") and
 * exactly: cells come back in column order, late columns widen the table, the cap drops and counts
 * the excess, and a reconnect's truncate removes a partly delivered answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLIENT_ROW_CAP, ResultStore } from './resultStore';

describe('ResultStore', () => {
  it('should return cells in first-seen column order and widen rows for late columns', () => {
    const s = new ResultStore();
    s.add('host-a', { pid: 1, name: 'init', path: null });
    s.add('host-b', { name: 'sshd', pid: '22', cmdline: 'sshd -D' });
    assert.deepEqual(s.columns, ['pid', 'name', 'path', 'cmdline']);
    assert.deepEqual(s.cells(0), ['1', 'init', '', '']);
    assert.deepEqual(s.cells(1), ['22', 'sshd', '', 'sshd -D']);
    assert.equal(s.hostname(0), 'host-a');
    assert.equal(s.hostname(1), 'host-b');
  });

  it('should keep values containing the separator as one cell', () => {
    const s = new ResultStore();
    s.add('h', { a: 'x\u001fy', b: true });
    assert.deepEqual(s.cells(0), ['x y', 'true']);
  });

  it('should drop rows beyond the cap and count them', () => {
    const s = new ResultStore(3);
    for (let i = 0; i < 5; i++) s.add('h', { i });
    assert.equal(s.length, 3);
    assert.equal(s.dropped, 2);
    assert.deepEqual(s.cells(2), ['2']);
  });

  it('should truncate back to a committed length and accept rows again', () => {
    const s = new ResultStore();
    for (let i = 0; i < 10; i++) s.add(`h${i % 2}`, { i });
    s.truncate(4);
    assert.equal(s.length, 4);
    s.add('h9', { i: 'again' });
    assert.deepEqual(s.cells(4), ['again']);
    assert.equal(s.hostname(4), 'h9');
  });

  it('should hold the server row cap (1,000,000 rows) in a bounded amount of memory', () => {
    assert.equal(CLIENT_ROW_CAP, 1_000_000);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const s = new ResultStore();
    for (let i = 0; i < CLIENT_ROW_CAP + 10; i++) {
      s.add(`host-${i % 500}`, { pid: i, name: `proc-${i % 1000}`, uid: i % 7, state: 'S' });
    }
    assert.equal(s.length, CLIENT_ROW_CAP);
    assert.equal(s.dropped, 10);
    assert.deepEqual(s.cells(999_999), ['999999', 'proc-999', String(999_999 % 7), 'S']);
    assert.equal(s.hostname(999_999), `host-${999_999 % 500}`);
    // One object per row with four keys would take several hundred MB; one string per row stays
    // well under this budget (measured around 60–90 MB).
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(grown < 300 * 1024 * 1024, `heap grew by ${Math.round(grown / 1048576)} MB`);
  });
});
