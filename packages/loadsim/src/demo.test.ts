/** `npm run demo`: starts the real server process with simulated hosts, prints the URL, stops cleanly. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

void describe('demo', () => {
  void it('should start the server with simulated hosts, print the URL and stop cleanly on SIGTERM', { timeout: 180_000 }, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mimir-demo-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const child = spawn(process.execPath, ['--conditions=mimir-source', '--import', 'tsx', 'packages/loadsim/src/bin/demo.ts', '--hosts', '3'], {
      cwd: ROOT, env: { ...process.env, MIMIR_DATA_DIR: dataDir, MIMIR_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`demo did not finish:\n${out}\n${err}`));
      }, 170_000);
      let signalled = false;
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString('utf8');
        // Stop once a status line shows the hosts running.
        if (!signalled && /demo: 3\/3 hosts running/.test(out)) {
          signalled = true;
          child.kill('SIGTERM');
        }
      });
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `${out}\n${err}`);
    assert.match(out, new RegExp(`Mimir demo is running: https://localhost:${port}/`));
    assert.match(out, /sign in as admin@mimir\.demo \/ \S+/);
    assert.match(out, /demo: stopping \(SIGTERM\)…\ndemo: stopped cleanly\n$/);
    assert.ok(existsSync(join(dataDir, 'loadsim-node-keys.json')), 'node keys kept for the next demo');
  });
});
