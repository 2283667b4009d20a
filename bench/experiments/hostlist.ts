/**
 * Experiment behind docs/performance.md's host-list figures: the filtered list queries of the bench
 * (through the server's own repository, `store.hostQueries.list`) on a copy of a 100k-host
 * database, as shipped and after `ANALYZE`. Timed with a warm connection, 20 runs each. (The
 * free-text filter's FTS5 index, once measured here, shipped in migration 0008.)
 *
 *   npm run bench -- --only memory --keep      # leaves <scratch>/memory/mimir.db with 100k hosts
 *   node --conditions=mimir-source --import tsx bench/experiments/hostlist.ts <that mimir.db>
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { HostKeyset, HostQueryFilter } from '../../packages/server/src/storage/repositories/host-queries.repository.js';
import { openStore } from '../../packages/server/src/storage/store.js';

const source = process.argv[2];
if (source === undefined) {
  process.stderr.write('usage: hostlist.ts <mimir.db with many hosts>\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'hostlist-exp-'));
copyFileSync(source, join(dir, 'mimir.db'));

const CASES: ReadonlyArray<{ name: string; filter: HostQueryFilter; keyset: HostKeyset }> = [
  { name: 'first page, hostname', filter: {}, keyset: { column: 'hostname', desc: false, limit: 51 } },
  { name: 'platform=linux, hostname', filter: { platform: 'linux' }, keyset: { column: 'hostname', desc: false, limit: 51 } },
  { name: 'q=web, hostname', filter: { q: 'web' }, keyset: { column: 'hostname', desc: false, limit: 51 } },
  { name: 'darwin + 5.23.1, lastSeen desc', filter: { platform: 'darwin', osqueryVersion: '5.23.1' }, keyset: { column: 'seen', desc: true, limit: 51 } },
  { name: 'osName=Ubuntu, enrolledAt', filter: { osName: 'Ubuntu' }, keyset: { column: 'enrolled_at', desc: false, limit: 51 } },
];

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function run(label: string): Promise<void> {
  const store = await openStore({ dataDir: dir });
  try {
    for (const c of CASES) {
      await store.hostQueries.list(c.filter, c.keyset);
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await store.hostQueries.list(c.filter, c.keyset);
        times.push(performance.now() - t);
      }
      process.stdout.write(`${label.padEnd(10)} ${c.name.padEnd(34)} p50 ${pct(times, 0.5).toFixed(1).padStart(7)} ms   p99 ${pct(times, 0.99).toFixed(1).padStart(7)} ms\n`);
    }
  } finally {
    await store.close();
  }
}

try {
  await run('as shipped');
  const raw = new BetterSqlite3(join(dir, 'mimir.db'));
  raw.exec('ANALYZE');
  raw.close();
  await run('ANALYZE');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
