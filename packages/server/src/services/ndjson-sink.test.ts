/**
 * NdjsonSink: the optional NDJSON mirror of result/status logs (issue #3 "Log ingest"): one JSON
 * object per line, appended, flushed by `close()`, and a failing file never takes the server down.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { NdjsonSink } from './ndjson-sink.js';

function dir(t: TestContext): string {
  const d = mkdtempSync(join(tmpdir(), 'mimir-ndjson-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function lines(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends on a complete line');
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

void describe('NdjsonSink', () => {
  void it('should write one JSON object per line, even for values holding newlines', async (t) => {
    const path = join(dir(t), 'nested', 'deeper', 'results.ndjson');
    const sink = new NdjsonSink(path);
    const objects = [{ a: 1 }, { text: 'two\nlines\r\n', nul: 'x\u0000y', unicode: 'é✓' }, [1, 2], 'str', null];
    sink.write(objects);
    sink.write([{ b: 2 }]);
    await sink.close();
    const got = lines(path);
    assert.equal(got.length, objects.length + 1);
    assert.deepEqual(got.map((l) => JSON.parse(l) as unknown), [...objects, { b: 2 }]);
  });

  void it('should create its directory and a file only the owner and group can read', async (t) => {
    const path = join(dir(t), 'a', 'b', 'statuses.ndjson');
    const sink = new NdjsonSink(path);
    sink.write([{ x: 1 }]);
    await sink.close();
    assert.equal(statSync(path).mode & 0o007, 0, 'not world-readable: results can hold sensitive host data');
  });

  void it('should write nothing for an empty batch', async (t) => {
    const path = join(dir(t), 'empty.ndjson');
    const sink = new NdjsonSink(path);
    sink.write([]);
    await sink.close();
    assert.equal(readFileSync(path, 'utf8'), '');
  });

  void it('should append to an existing file across restarts', async (t) => {
    const path = join(dir(t), 'r.ndjson');
    writeFileSync(path, '{"old":true}\n');
    const first = new NdjsonSink(path);
    first.write([{ n: 1 }]);
    await first.close();
    const second = new NdjsonSink(path);
    second.write([{ n: 2 }]);
    await second.close();
    assert.deepEqual(lines(path).map((l) => JSON.parse(l) as unknown), [{ old: true }, { n: 1 }, { n: 2 }]);
  });

  void it('should flush everything written when close() resolves, and tolerate a second close()', async (t) => {
    const path = join(dir(t), 'big.ndjson');
    const sink = new NdjsonSink(path);
    const row = { columns: { path: '/usr/bin/'.padEnd(200, 'x') } };
    for (let i = 0; i < 200; i++) sink.write(Array.from({ length: 100 }, (_, j) => ({ i, j, ...row })));
    await sink.close();
    const got = lines(path);
    assert.equal(got.length, 20_000);
    assert.deepEqual(JSON.parse(got[got.length - 1] ?? '') as unknown, { i: 199, j: 99, ...row });
    await sink.close();
  });

  void it('should refuse writes after close() instead of losing them silently', async (t) => {
    const sink = new NdjsonSink(join(dir(t), 'c.ndjson'));
    await sink.close();
    assert.throws(() => sink.write([{ late: true }]), /closed/);
  });

  void it('should report a file that cannot be written without crashing the process', async (t) => {
    const d = dir(t);
    const path = join(d, 'is-a-directory');
    mkdirSync(path);
    const errors: Error[] = [];
    const sink = new NdjsonSink(path, { onError: (e) => errors.push(e) });
    sink.write([{ lost: true }]);
    await new Promise((r) => setTimeout(r, 50)); // the open fails asynchronously
    assert.equal(errors.length, 1);
    assert.match(String((errors[0] as NodeJS.ErrnoException).code), /EISDIR/);
    sink.write([{ after: 'failure' }]); // no throw, no crash: the database already has the rows
    await assert.rejects(sink.close(), /EISDIR/);
  });
});
