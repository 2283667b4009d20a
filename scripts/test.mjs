#!/usr/bin/env node
// Runs every package's tests with Node's built-in runner through tsx, on the TypeScript sources
// (the "mimir-source" export condition), so no build is needed first.
// Usage: node scripts/test.mjs [path-substring ...]   (filters test files)
//
// The server's end-to-end suites (files under packages/server that start a real server) run twice:
// on SQLite, then on PostgreSQL (MIMIR_TEST_DATABASE=postgres; the server at 127.0.0.1:5432 or
// MIMIR_TEST_PG_URL, which .ci/run installs when missing). MIMIR_TEST_POSTGRES=0 skips the second
// pass, MIMIR_TEST_POSTGRES=only runs just it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(relative(root, p));
  }
}
for (const base of ['packages', 'e2e']) {
  try { walk(join(root, base)); } catch { /* folder not created yet */ }
}
const selected = files.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (selected.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
function run(list, extraEnv) {
  const args = ['--conditions=mimir-source', '--import', 'tsx', '--test', '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...list];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test', ...extraEnv } });
  return r.status ?? 1;
}

const pgMode = process.env.MIMIR_TEST_POSTGRES ?? '1';
const serverSuites = selected.filter((f) => f.startsWith('packages/server/') && /\bstartServer\(/.test(readFileSync(join(root, f), 'utf8')));
let status = 0;
if (pgMode !== 'only') status = run(selected, {});
if (pgMode !== '0' && serverSuites.length > 0) {
  console.log(`\n# the same ${serverSuites.length} server suite(s) again on PostgreSQL\n`);
  const pgStatus = run(serverSuites, { MIMIR_TEST_DATABASE: 'postgres' });
  if (status === 0) status = pgStatus;
}
process.exit(status);
