/**
 * Experiment behind docs/performance.md's host-search figures: the host list's free-text filter at
 * 100k hosts: the FTS5 trigram index of migration 0008 (the subquery `dialect.ts` hostSearch
 * builds) against the six-column `lower(x) LIKE '%…%'` scan it replaced, on one synthetic database
 * migrated exactly as the server migrates it. Warm connection, 20 runs each.
 *
 *   node --conditions=mimir-source --import tsx bench/experiments/host-search.ts [hosts]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { HOST_SEARCH_COLUMNS } from '../../packages/server/src/storage/dialect.js';
import { openStore } from '../../packages/server/src/storage/store.js';

const hosts = Number(process.argv[2] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'host-search-exp-'));

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

function time(label: string, fn: () => unknown): void {
  fn();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  process.stdout.write(`${label.padEnd(46)} p50 ${pct(times, 0.5).toFixed(1).padStart(7)} ms   p99 ${pct(times, 0.99).toFixed(1).padStart(7)} ms\n`);
}

try {
  // Schema and triggers exactly as the server migrates them.
  const store = await openStore({ dataDir: dir });
  await store.close();
  const db = new BetterSqlite3(join(dir, 'mimir.db'));
  // Hosts only: the group the server would create on start is not needed to search.
  db.pragma('foreign_keys = OFF');
  const now = Date.now();
  const insert = db.prepare(`INSERT INTO hosts (identifier, group_id, hostname, computer_name, hardware_uuid, hardware_serial, primary_ip, platform, enrolled_at, last_enrolled_at, created_at, updated_at)
    VALUES (?, 1, ?, ?, ?, ?, ?, 'linux', ?, ?, ?, ?)`);
  const t0 = performance.now();
  db.transaction(() => {
    for (let i = 0; i < hosts; i++) {
      const role = ['web', 'db', 'cache', 'worker', 'mac'][i % 5] ?? 'x';
      const uuid = `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0')}`;
      insert.run(`id-${i}`, `${role}-${i}.corp.example`, `${role.toUpperCase()}${i}`, uuid, `SN${(i * 31).toString(36).toUpperCase()}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now, now, now, now);
    }
  })();
  process.stdout.write(`${hosts} hosts inserted (triggers feeding the FTS5 index) in ${(performance.now() - t0).toFixed(0)} ms\n`);

  const like = (text: string) => {
    const pattern = `%${text.toLowerCase()}%`;
    return db.prepare(`SELECT * FROM hosts WHERE ${HOST_SEARCH_COLUMNS.map((c) => `lower(${c}) LIKE ?`).join(' OR ')} ORDER BY hostname, id LIMIT 51`)
      .all(...HOST_SEARCH_COLUMNS.map(() => pattern));
  };
  const fts = db.prepare(`SELECT * FROM hosts WHERE id IN (SELECT rowid FROM host_search WHERE host_search MATCH ?) ORDER BY hostname, id LIMIT 51`);
  for (const q of ['web-4242', '0000abcd', '10.1.23.', 'web']) {
    time(`LIKE scan   q=${q}`, () => like(q));
    time(`FTS5 index  q=${q}`, () => fts.all(`"${q}"`));
  }
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
