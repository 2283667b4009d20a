/**
 * Experiment behind docs/performance.md's host-list recommendations: the six filtered list queries
 * of the bench (through the server's own repository, `store.hostQueries.list`) on a copy of a
 * 100k-host database, as shipped, after `ANALYZE`, and the free-text filter through an FTS5
 * trigram index instead of six `lower(x) LIKE '%…%'`. Timed with a warm connection, 20 runs each.
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

  // Free text through a trigram index: candidate ids from FTS5, then the page by hostname.
  const db = new BetterSqlite3(join(dir, 'mimir.db'));
  const t0 = performance.now();
  db.exec(`CREATE VIRTUAL TABLE host_search USING fts5(text, tokenize='trigram', content='')`);
  db.exec(`INSERT INTO host_search(rowid, text) SELECT id, lower(hostname || ' ' || computer_name || ' ' || hardware_uuid || ' ' || identifier || ' ' || hardware_serial || ' ' || primary_ip) FROM hosts`);
  process.stdout.write(`FTS5 trigram index built in ${(performance.now() - t0).toFixed(0)} ms\n`);
  const page = db.prepare(`SELECT hosts.* FROM hosts WHERE hosts.id IN (SELECT rowid FROM host_search WHERE host_search MATCH ?) ORDER BY hosts.hostname, hosts.id LIMIT 51`);
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    page.all('"web"');
    if (i > 0) times.push(performance.now() - t);
  }
  process.stdout.write(`FTS5      ${'q=web, hostname'.padEnd(34)} p50 ${pct(times, 0.5).toFixed(1).padStart(7)} ms   p99 ${pct(times, 0.99).toFixed(1).padStart(7)} ms\n`);
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
