/**
 * CI smoke run of the benchmark (`npm run bench -- --tiny`): a few dozen hosts and a few seconds per
 * scenario into a temporary directory. It asserts the harness works and the report is complete —
 * every scenario present with a number or an explicit "missing" — never the figures themselves:
 * benchmarks are not tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Under a minute on an idle machine; generous so a busy CI runner does not turn it red. */
const LIMIT_MS = 240_000;

interface Verdict {
  id: string;
  target: string;
  measured: string;
  status: string;
}

void describe('bench --tiny', () => {
  void it('should write a complete report with every scenario measured or marked missing', { timeout: LIMIT_MS + 10_000 }, async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--conditions=mimir-source', '--import', 'tsx', 'bench/run.ts', '--tiny', '--out', out], {
        cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (b: Buffer) => (output += b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => (output += b.toString('utf8')));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`bench --tiny did not finish within ${LIMIT_MS} ms:\n${output}`));
      }, LIMIT_MS);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve({ code: c, output });
      });
    });
    assert.equal(code, 0, output);
    const files = readdirSync(out);
    const md = files.find((f) => f.endsWith('-tiny.md'));
    const json = files.find((f) => f.endsWith('-tiny.json'));
    assert.ok(md !== undefined && json !== undefined, `report files: ${files.join(', ')}`);
    assert.ok(files.some((f) => f.endsWith('.svg')), 'charts written');

    const report = JSON.parse(readFileSync(join(out, json), 'utf8')) as { verdicts: Verdict[]; charts: string[]; machine: { nproc: number } };
    const ids = report.verdicts.map((v) => v.id).sort();
    assert.deepEqual(ids, ['capacity', 'hostlist', 'hotpath', 'ingest', 'live', 'memory', 'scaleout', 'scaleout-clean']);
    for (const v of report.verdicts) {
      assert.ok(['met', 'missed', 'missing'].includes(v.status), `${v.id}: ${v.status}`);
      // A figure, or an explicit "missing".
      assert.ok(v.status === 'missing' ? /^missing/.test(v.measured) : /\d/.test(v.measured), `${v.id}: ${v.measured}`);
    }
    for (const c of report.charts) assert.ok(existsSync(join(out, c)), c);
    assert.ok(report.machine.nproc >= 1);

    const text = readFileSync(join(out, md), 'utf8');
    for (const heading of ['## Targets', '## 1. Check-in hot path', '## 2. Hosts one server process sustains', '## 3. Live query', '## 4. Log ingestion', '## 5. Server memory per enrolled host', '## 6. REST host list', '## 7. PostgreSQL and scale-out']) {
      assert.ok(text.includes(heading), `report has "${heading}"`);
    }
    for (const v of report.verdicts) assert.ok(text.includes(`| ${v.target} |`), `report lists target "${v.target}"`);
  });
});
