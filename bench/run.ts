/**
 * `npm run bench [-- options]`: runs the Mimir server and the load simulator on this machine
 * (loopback only, every phase bounded in time) and writes `bench/results/<date>.md`, `.json` and
 * SVG charts: the check-in hot path against bare Node, the hosts one process sustains, live-query
 * reach time, log ingestion, memory per host and host-list latency, each against its target; then
 * the scale-out run (issue #10): the same check-in load on SQLite × 1, PostgreSQL × 1 and × 2.
 *
 *   --tiny              a few dozen hosts and a few seconds per scenario (CI smoke run, about a minute)
 *   --out DIR           results directory (default bench/results)
 *   --only LIST         comma-separated: hotpath, capacity, ingest, memory, scaleout (capacity
 *                       includes the live query; memory includes the host list)
 *   --no-postgres       skip the scale-out run (it needs PostgreSQL at MIMIR_BENCH_PG_URL, default
 *                       postgres://postgres@127.0.0.1:5432/test; each run creates and drops a database)
 *   --profile           CPU-profile the server during hot path, capacity and ingest; top functions go
 *                       in the report and the .cpuprofile files next to it
 *   --max-hosts N       capacity ramp ceiling (default 50000)
 *   --memory-hosts N    second memory point (default 100000)
 *   --keep              keep the scratch directory (server data, logs)
 *   --nice N            run the benchmark's processes at this niceness (e.g. -5) on a shared machine;
 *                       negative values need privileges and slow everyone else down while it runs
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pinToCpu } from './lib/child.js';
import { describeMachine, startMimir, type BenchSettings } from './lib/context.js';
import { formatProfile, summarizeProfile } from './lib/cpuprofile.js';
import { MachineLoad } from './lib/machine-load.js';
import { verdictsOf, writeReport, type BenchReport, type Outcome } from './lib/report.js';
import { capacity } from './scenarios/capacity.js';
import { hotPath } from './scenarios/hotpath.js';
import { ingest } from './scenarios/ingest.js';
import { memory } from './scenarios/memory.js';
import { scaleOut } from './scenarios/postgres.js';

const SCENARIOS = ['hotpath', 'capacity', 'ingest', 'memory', 'scaleout'] as const;
type Scenario = (typeof SCENARIOS)[number];

async function attempt<T>(name: Scenario, selected: ReadonlyMap<Scenario, string | undefined>, s: BenchSettings, run: () => Promise<T>): Promise<Outcome<T>> {
  if (!selected.has(name)) return { ok: false, skipped: true, reason: 'not in --only' };
  const skip = selected.get(name);
  if (skip !== undefined) return { ok: false, skipped: true, reason: skip };
  const started = Date.now();
  s.log(`${name}: starting`);
  try {
    const value = await run();
    s.log(`${name}: done in ${Math.round((Date.now() - started) / 1000)} s`);
    return { ok: true, value };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    s.log(`${name}: FAILED: ${error}`);
    return { ok: false, error };
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      tiny: { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' }, profile: { type: 'boolean' },
      'max-hosts': { type: 'string' }, 'memory-hosts': { type: 'string' }, keep: { type: 'boolean' }, nice: { type: 'string' }, 'no-postgres': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    process.stdout.write('usage: npm run bench -- [--tiny] [--out DIR] [--only hotpath,capacity,ingest,memory,scaleout] [--no-postgres] [--profile] [--max-hosts N] [--memory-hosts N] [--keep] [--nice N]\n');
    return 0;
  }
  const tiny = values.tiny === true;
  const only = (values.only ?? SCENARIOS.join(',')).split(',').map((x) => x.trim()).filter((x) => x !== '');
  const unknown = only.filter((x) => !(SCENARIOS as readonly string[]).includes(x));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario(s) ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})\n`);
    return 2;
  }
  // Scenario → why it is skipped although listed (undefined: it runs).
  const selected = new Map<Scenario, string | undefined>((only as Scenario[]).map((x) => [x, undefined]));
  if (values['no-postgres'] === true && selected.has('scaleout')) selected.set('scaleout', '--no-postgres');
  const outDir = resolve(values.out ?? 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const workDir = mkdtempSync(join(tmpdir(), 'mimir-bench-'));
  // Two or more CPUs: the server gets the last one, this process and the simulator the first.
  const twoCpus = cpus().length >= 2;
  const loadCpu = twoCpus ? 0 : undefined;
  const serverCpu = twoCpus ? cpus().length - 1 : undefined;
  const pinned = loadCpu !== undefined && pinToCpu(process.pid, loadCpu);
  const nice = values.nice === undefined ? undefined : Number(values.nice);
  if (nice !== undefined) {
    if (!Number.isInteger(nice) || nice < -20 || nice > 19) {
      process.stderr.write('bench: --nice takes an integer from -20 to 19\n');
      return 2;
    }
    // Children inherit the priority of the process that forks them.
    setPriority(process.pid, nice);
  }
  const started = new Date();
  const s: BenchSettings = {
    tiny, outDir, workDir, profile: values.profile === true,
    maxHosts: Number(values['max-hosts'] ?? (tiny ? 40 : 50_000)),
    memoryHosts: Number(values['memory-hosts'] ?? (tiny ? 200 : 100_000)),
    serverCpu: pinned ? serverCpu : undefined,
    loadCpu: pinned ? loadCpu : undefined,
    log: (m) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`),
  };
  const machine = describeMachine(pinned);
  machine.niceness = nice ?? 0;
  s.log(`bench: ${tiny ? 'tiny' : 'full'} run on ${machine.nproc} × ${machine.cpuModel}, Node ${machine.node}; scratch ${workDir}`);
  const load = new MachineLoad();
  load.start();

  // A tiny run is a smoke test of the harness: one server for every scenario keeps it short.
  if (tiny && SCENARIOS.some((x) => x !== 'scaleout' && selected.has(x))) s.shared = await startMimir(s, 'shared');
  let hot: Outcome<Awaited<ReturnType<typeof hotPath>>>;
  let cap: Outcome<Awaited<ReturnType<typeof capacity>>>;
  let ing: Outcome<Awaited<ReturnType<typeof ingest>>>;
  let mem: Outcome<Awaited<ReturnType<typeof memory>>>;
  try {
    hot = await attempt('hotpath', selected, s, () => hotPath(s));
    cap = await attempt('capacity', selected, s, () => capacity(s));
    ing = await attempt('ingest', selected, s, () => ingest(s));
    mem = await attempt('memory', selected, s, () => memory(s));
  } finally {
    await s.shared?.stop();
    delete s.shared;
  }
  // After the SQLite scenarios, on servers of its own (it compares setups, so it never shares one).
  const scale = await attempt('scaleout', selected, s, () => scaleOut(s));

  const finished = new Date();
  machine.loadAvgEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const name = `${started.toISOString().slice(0, 10)}${tiny ? '-tiny' : ''}`;
  const report: BenchReport = {
    format: 'mimir-bench/1', mode: tiny ? 'tiny' : 'full', name,
    startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationSec: Math.round((finished.getTime() - started.getTime()) / 1000),
    machine, otherLoadPercent: load.stop(), hotPath: hot, capacity: cap, ingest: ing, memory: mem, scaleOut: scale,
    verdicts: [], profiles: [], charts: [],
  };
  report.verdicts = verdictsOf(report);
  const profiles: Array<[string, string | undefined]> = [
    ['hot path', hot.ok ? hot.value.profile : undefined],
    ['capacity (largest step)', cap.ok ? cap.value.profile : undefined],
    ['ingest', ing.ok ? ing.value.profile : undefined],
  ];
  for (const [scenario, file] of profiles) {
    if (file === undefined) continue;
    const summary = summarizeProfile(file, 20);
    report.profiles.push({ scenario, summary: { ...summary, file: `${name}-${basename(file)}` } });
    copyFileSync(file, join(outDir, `${name}-${basename(file)}`));
    s.log(formatProfile(summary));
  }
  const written = writeReport(outDir, report);
  s.log('targets:');
  for (const v of report.verdicts) s.log(`  ${v.status.toUpperCase().padEnd(7)} ${v.target}: ${v.measured}${v.note !== undefined ? ` (${v.note})` : ''}`);
  s.log(`report: ${written.md}, ${written.json}`);
  if (values.keep === true) s.log(`scratch kept: ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
