/**
 * Scale-out (issue #10): the same check-in load against SQLite (one process), PostgreSQL with one
 * instance, and PostgreSQL with two instances sharing the database. Each run enrolls hosts spread
 * over the instances; half of them post result log batches back to back (rows stored per second),
 * the other half poll `distributed/read` back to back (the hot path: p99 latency). Rows are counted
 * in the database before and after the window, so only what was stored counts.
 *
 * PostgreSQL comes from MIMIR_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/test, the
 * server the tests use); each run gets a fresh database, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { OSQUERY_ENDPOINTS } from '@mimir/osquery-protocol';
import {
  OsquerydStandin, OsqueryHttpClient, makeHostProfile, resultEventLine, toOsqueryJson, HOST_TEMPLATES, type JsonValue, type LogLine,
} from '@mimir/osquery-protocol/standin';
import { cpuPercent, percentile, r1, r2, sleep, startMimir, type BenchSettings, type MimirServer, type Verdict } from '../lib/context.js';

export interface ScaleOutRun {
  label: string;
  database: 'sqlite' | 'postgres';
  instances: number;
  hosts: number;
  windowSec: number;
  rowsPerSec: number;
  logP99Ms: number;
  readsPerSec: number;
  readP50Ms: number;
  readP99Ms: number;
  errors: number;
  /** Sum over the instances, percent of one core. */
  serverCpuPercent: number;
  /** CPU each instance was pinned to (taskset), in order; empty when not pinned. */
  serverCpus: number[];
}

/**
 * The CPU of instance `i`: instances count down from the server CPU and stay off the load's CPU, so
 * on 4+ CPUs each gets its own core; with fewer they share the server CPU, which caps what a second
 * instance can add (the report shows the assignment).
 */
function cpuOf(s: BenchSettings, i: number): number | undefined {
  if (s.serverCpu === undefined) return undefined;
  const cpu = s.serverCpu - i;
  return cpu >= 0 && cpu !== s.loadCpu ? cpu : s.serverCpu;
}

export interface ScaleOutResult {
  runs: ScaleOutRun[];
}

const PG_URL = process.env['MIMIR_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function admin(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function urlFor(database: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

function logBody(host: OsquerydStandin, nodeKey: string, lines: number, counter: number): string {
  const rows = host.profile.processes;
  const unixTime = Math.floor(Date.now() / 1000);
  const data: LogLine[] = [];
  for (let i = 0; i < lines; i++) {
    const row = { ...(rows[i % rows.length] ?? {}), pid: String(10_000 + i) };
    data.push(resultEventLine({ name: 'pack/bench/processes', hostIdentifier: host.hostIdentifier, unixTime, counter, version: host.version }, row, 'added'));
  }
  return toOsqueryJson(new Map<string, JsonValue>([['data', data], ['log_type', 'result'], ['node_key', nodeKey]]));
}

function pct(sorted: readonly number[], q: number): number {
  return r1(percentile(sorted, q));
}

async function oneRun(s: BenchSettings, database: 'sqlite' | 'postgres', instances: number): Promise<ScaleOutRun> {
  const label = `${database} × ${instances}`;
  const hostsPerInstance = s.tiny ? 4 : 16;
  const lines = s.tiny ? 32 : 256;
  const windowMs = s.tiny ? 2_000 : 15_000;
  const dbName = `mimir_bench_${randomBytes(5).toString('hex')}`;
  const env: Record<string, string> = {};
  if (database === 'postgres') {
    await admin(`CREATE DATABASE ${dbName}`);
    env['MIMIR_DATABASE_URL'] = urlFor(dbName);
  }
  const servers: MimirServer[] = [];
  const clients: OsqueryHttpClient[] = [];
  try {
    // One at a time: the first runs the migrations.
    for (let i = 0; i < instances; i++) servers.push(await startMimir({ ...s, serverCpu: cpuOf(s, i) }, `scaleout-${database}-${instances}-${i}`, env));
    const count = async (): Promise<number> => {
      if (database === 'postgres') {
        const c = new pg.Client({ connectionString: urlFor(dbName) });
        await c.connect();
        try {
          return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM result_logs')).rows[0]?.n ?? 0);
        } finally {
          await c.end();
        }
      }
      const first = servers[0];
      if (first === undefined) return 0;
      const file = new BetterSqlite3(join(first.dataDir, 'mimir.db'), { readonly: true });
      try {
        return (file.prepare('SELECT count(*) AS n FROM result_logs').get() as { n: number }).n;
      } finally {
        file.close();
      }
    };
    const loggers: Array<{ client: OsqueryHttpClient; host: OsquerydStandin; key: string }> = [];
    const pollers: Array<{ client: OsqueryHttpClient; key: string }> = [];
    for (const [n, srv] of servers.entries()) {
      for (let i = 0; i < hostsPerInstance; i++) {
        const host = new OsquerydStandin({
          tlsHostname: srv.tlsHostname, ca: srv.ready.ca, enrollSecret: srv.ready.secret,
          profile: makeHostProfile(HOST_TEMPLATES[i % HOST_TEMPLATES.length] ?? 'ubuntu', `scaleout-${n}-${i}`), sleep: () => Promise.resolve(),
        });
        const e = await host.enroll();
        if (!e.ok) throw new Error(`${label}: enroll failed: ${e.error}`);
        await host.close();
        const client = new OsqueryHttpClient({ tlsHostname: srv.tlsHostname, ca: srv.ready.ca });
        clients.push(client);
        if (i % 2 === 0) loggers.push({ client, host, key: e.nodeKey });
        else pollers.push({ client, key: e.nodeKey });
      }
    }
    let stop = false;
    let measuring = false;
    let counter = 1;
    let errors = 0;
    const logLat: number[] = [];
    const readLat: number[] = [];
    const loops = [
      ...loggers.map(async ({ client, host, key }) => {
        while (!stop) {
          const body = logBody(host, key, lines, counter++);
          const t = performance.now();
          const r = await client.request({ path: OSQUERY_ENDPOINTS.log, body, nodeKey: key }).catch(() => undefined);
          if (!measuring) continue;
          if (r?.status !== 200) errors++;
          logLat.push(performance.now() - t);
        }
      }),
      ...pollers.map(async ({ client, key }) => {
        const body = JSON.stringify({ node_key: key });
        while (!stop) {
          const t = performance.now();
          const r = await client.request({ path: OSQUERY_ENDPOINTS.distributedRead, body, nodeKey: key }).catch(() => undefined);
          if (!measuring) continue;
          if (r?.status !== 200) errors++;
          readLat.push(performance.now() - t);
        }
      }),
    ];
    await sleep(s.tiny ? 300 : 2_000);
    const before = await count();
    const u0 = await Promise.all(servers.map((x) => x.usage()));
    measuring = true;
    const t0 = Date.now();
    await sleep(windowMs);
    measuring = false;
    const seconds = (Date.now() - t0) / 1000;
    const u1 = await Promise.all(servers.map((x) => x.usage()));
    stop = true;
    await Promise.all(loops);
    const after = await count();
    logLat.sort((a, b) => a - b);
    readLat.sort((a, b) => a - b);
    return {
      label, database, instances, hosts: hostsPerInstance * instances, windowSec: r1(seconds),
      rowsPerSec: Math.round((after - before) / seconds),
      logP99Ms: pct(logLat, 0.99),
      readsPerSec: Math.round(readLat.length / seconds),
      readP50Ms: pct(readLat, 0.5),
      readP99Ms: pct(readLat, 0.99),
      errors,
      serverCpuPercent: r1(u0.reduce((sum, u, i) => sum + cpuPercent(u, u1[i] ?? u), 0)),
      serverCpus: servers.map((_, i) => cpuOf(s, i)).filter((c) => c !== undefined),
    };
  } finally {
    for (const c of clients) c.close();
    for (const srv of servers) await srv.stop().catch(() => undefined);
    if (database === 'postgres') await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  }
}

/** SQLite × 1, PostgreSQL × 1, PostgreSQL × 2, under the same load per instance. */
export async function scaleOut(s: BenchSettings): Promise<ScaleOutResult> {
  // Fail before the SQLite run, with what to do about it, rather than after it with a bare ECONNREFUSED.
  await admin('SELECT 1').catch((e: unknown) => {
    const u = new URL(PG_URL);
    if (u.password !== '') u.password = '***';
    throw new Error(`PostgreSQL at ${u.toString()} is not usable (set MIMIR_BENCH_PG_URL, or pass --no-postgres): ${e instanceof Error ? e.message : String(e)}`);
  });
  const runs: ScaleOutRun[] = [];
  for (const [database, instances] of [['sqlite', 1], ['postgres', 1], ['postgres', 2]] as const) {
    s.log(`scale-out: ${database} × ${instances}`);
    runs.push(await oneRun(s, database, instances));
  }
  return { runs };
}

/** Markdown table for docs/performance.md and the bench report. */
export function scaleOutTable(r: ScaleOutResult): string {
  const head = '| setup | hosts | result rows/s stored | log p99 (ms) | distributed/read per s | read p50 / p99 (ms) | errors | server CPU (% of a core) | pinned to CPU |\n|---|---|---|---|---|---|---|---|---|';
  const rows = r.runs.map((x) => `| ${x.label} | ${x.hosts} | ${x.rowsPerSec.toLocaleString('en-US')} | ${x.logP99Ms} | ${x.readsPerSec.toLocaleString('en-US')} | ${x.readP50Ms} / ${x.readP99Ms} | ${x.errors} | ${x.serverCpuPercent} | ${x.serverCpus.length > 0 ? x.serverCpus.join(', ') : 'not pinned'} |`);
  return [head, ...rows].join('\n');
}

/**
 * The two targets issue #10 implies for the run: a second instance on the same database adds
 * throughput (stateless instances are the point of scale-out), and every setup answers every request
 * and stores what it was sent (the PostgreSQL path is not a degraded mode). No absolute figure is a
 * target here: those are the single-process targets of the other scenarios.
 */
export function scaleOutVerdicts(r: ScaleOutResult): { gain: Verdict; clean: Verdict } {
  const find = (database: ScaleOutRun['database'], instances: number): ScaleOutRun | undefined =>
    r.runs.find((x) => x.database === database && x.instances === instances);
  const one = find('postgres', 1);
  const two = find('postgres', 2);
  const gainTarget = 'scale-out: PostgreSQL × 2 instances beat × 1 (stored rows/s and distributed/read per s)';
  let gain: Verdict;
  if (one === undefined || two === undefined) {
    gain = { target: gainTarget, measured: 'missing: no PostgreSQL × 1 / × 2 run', met: null };
  } else {
    // A zero denominator gives Infinity or NaN: printed as is, and NaN is never "met".
    const rows = two.rowsPerSec / one.rowsPerSec;
    const reads = two.readsPerSec / one.readsPerSec;
    gain = {
      target: gainTarget,
      measured: `rows/s ×${r2(rows)} (${one.rowsPerSec.toLocaleString('en-US')} → ${two.rowsPerSec.toLocaleString('en-US')}), reads/s ×${r2(reads)} (${one.readsPerSec.toLocaleString('en-US')} → ${two.readsPerSec.toLocaleString('en-US')})`,
      met: one.rowsPerSec > 0 && one.readsPerSec > 0 && rows > 1 && reads > 1,
      note: 'instances, PostgreSQL and the load share one machine',
    };
  }
  const failed = r.runs.filter((x) => x.errors > 0 || x.rowsPerSec <= 0 || x.readsPerSec <= 0);
  const clean: Verdict = {
    target: 'scale-out: every setup answers every request and stores the rows (SQLite × 1, PostgreSQL × 1 and × 2)',
    measured: r.runs.length === 0
      ? 'missing: no run'
      : r.runs.map((x) => `${x.label}: ${x.errors} errors, ${x.rowsPerSec.toLocaleString('en-US')} rows/s`).join('; '),
    met: r.runs.length === 0 ? null : failed.length === 0,
  };
  return { gain, clean };
}
