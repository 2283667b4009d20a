/** The benchmark report: `<date>.json` (everything), `<date>.md` (for people) and SVG charts. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapacityResult } from '../scenarios/capacity.js';
import type { HotPathResult } from '../scenarios/hotpath.js';
import type { IngestResult } from '../scenarios/ingest.js';
import type { MemoryResult } from '../scenarios/memory.js';
import { scaleOutTable, scaleOutVerdicts, type ScaleOutResult } from '../scenarios/postgres.js';
import type { Machine, Verdict } from './context.js';
import type { ProfileSummary } from './cpuprofile.js';
import { barChart, lineChart } from './svg.js';

/** `reason` of a skipped scenario: the option that left it out (`not in --only`, `--no-postgres`). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string } | { ok: false; skipped: true; reason: string };

export const TARGET_IDS = ['hotpath', 'capacity', 'live', 'ingest', 'memory', 'hostlist', 'scaleout', 'scaleout-clean'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

export interface BenchReport {
  format: 'mimir-bench/1';
  mode: 'full' | 'tiny';
  name: string;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  machine: Machine;
  /** Share of the machine's CPU used by processes other than the benchmark's, during the run. */
  otherLoadPercent: number | null;
  hotPath: Outcome<HotPathResult>;
  capacity: Outcome<CapacityResult>;
  ingest: Outcome<IngestResult>;
  memory: Outcome<MemoryResult>;
  /** Issue #10: SQLite × 1, PostgreSQL × 1 and × 2 under the same load per instance. */
  scaleOut: Outcome<ScaleOutResult>;
  verdicts: Array<Verdict & { id: TargetId; status: 'met' | 'missed' | 'missing' }>;
  profiles: Array<{ scenario: string; summary: ProfileSummary }>;
  charts: string[];
}

function missing(id: TargetId, target: string, why: string): Verdict & { id: TargetId; status: 'missing' } {
  return { id, target, measured: `missing: ${why}`, met: null, status: 'missing' };
}

function why<T>(o: Outcome<T>): string {
  return 'skipped' in o ? `scenario not run (${o.reason})` : o.ok ? '' : `scenario failed: ${o.error}`;
}

export function verdictsOf(r: Pick<BenchReport, 'hotPath' | 'capacity' | 'ingest' | 'memory' | 'scaleOut'>): BenchReport['verdicts'] {
  const status = (v: Verdict): 'met' | 'missed' | 'missing' => (v.met === null ? 'missing' : v.met ? 'met' : 'missed');
  const out: BenchReport['verdicts'] = [];
  const add = (id: TargetId, v: Verdict): void => {
    out.push({ ...v, id, status: status(v) });
  };
  if (r.hotPath.ok) add('hotpath', r.hotPath.value.verdict);
  else out.push(missing('hotpath', 'hot path ≥ 70% of bare Node', why(r.hotPath)));
  if (r.capacity.ok) {
    add('capacity', r.capacity.value.verdictCapacity);
    add('live', r.capacity.value.verdictLive);
  } else {
    out.push(missing('capacity', '50,000 hosts on one process at p99 < 100 ms', why(r.capacity)));
    out.push(missing('live', 'live query at 100% within distributed_interval + 2 s for 50,000 hosts', why(r.capacity)));
  }
  if (r.ingest.ok) add('ingest', r.ingest.value.verdict);
  else out.push(missing('ingest', '≥ 200,000 result rows/s ingested', why(r.ingest)));
  if (r.memory.ok) {
    add('memory', r.memory.value.verdictMemory);
    add('hostlist', r.memory.value.verdictHostList);
  } else {
    out.push(missing('memory', '≤ 2 KiB server memory per enrolled host', why(r.memory)));
    out.push(missing('hostlist', 'host list p99 < 200 ms at 100k hosts', why(r.memory)));
  }
  if (r.scaleOut.ok) {
    const v = scaleOutVerdicts(r.scaleOut.value);
    add('scaleout', v.gain);
    add('scaleout-clean', v.clean);
  } else {
    out.push(missing('scaleout', 'scale-out: PostgreSQL × 2 instances beat × 1 (stored rows/s and distributed/read per s)', why(r.scaleOut)));
    out.push(missing('scaleout-clean', 'scale-out: every setup answers every request and stores the rows (SQLite × 1, PostgreSQL × 1 and × 2)', why(r.scaleOut)));
  }
  return out;
}

function n(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function section<T>(o: Outcome<T>, render: (v: T) => string[]): string[] {
  if (o.ok) return render(o.value);
  return ['skipped' in o ? `_Not run in this invocation (${o.reason})._` : `**Missing — the scenario failed:** \`${o.error}\``];
}

/** Write the JSON, the Markdown and the charts; returns the Markdown path. */
export function writeReport(dir: string, r: BenchReport): { md: string; json: string } {
  const base = join(dir, r.name);
  const chart = (suffix: string, svg: string): string => {
    const file = `${r.name}-${suffix}.svg`;
    writeFileSync(join(dir, file), svg);
    r.charts.push(file);
    return file;
  };
  const md: string[] = [];
  md.push(`# Mimir benchmark — ${r.name}${r.mode === 'tiny' ? ' (tiny smoke run: the figures mean nothing)' : ''}`, '');
  const m = r.machine;
  md.push(
    `Machine: ${m.nproc} CPU (${m.cpuModel}), ${m.ramGiB} GiB RAM, Node ${m.node}, ${m.platform}. ` +
      `Server and load ${m.pinned ? 'pinned to separate CPUs (taskset)' : 'not pinned'}${m.niceness !== 0 ? `, at niceness ${m.niceness}` : ''}. ` +
      `Load average ${m.loadAvgStart} at start, ${m.loadAvgEnd ?? '—'} at end; other processes used ${n(r.otherLoadPercent)}% of the machine's CPU during the run.`,
    '',
    `Run: ${r.startedAt} → ${r.finishedAt} (${n(r.durationSec)} s). Everything on loopback; the server under test runs in its own process with its embedded defaults.`,
    '',
    '## Targets',
    '',
    '| target | measured | result |',
    '|---|---|---|',
  );
  for (const v of r.verdicts) md.push(`| ${v.target} | ${v.measured}${v.note !== undefined ? ` (${v.note})` : ''} | **${v.status}** |`);
  md.push('');

  md.push('## 1. Check-in hot path: `distributed/read` with nothing pending', '');
  md.push(...section(r.hotPath, (h) => {
    const c = chart('hotpath', barChart({
      title: 'Empty distributed/read: requests per second', unit: 'req/s',
      bars: [
        { label: 'Mimir req/s', value: h.mimir.rps }, { label: 'bare node:https req/s', value: h.bare.rps },
        { label: 'Mimir req/s per server core', value: h.mimir.rpsPerCore }, { label: 'bare req/s per server core', value: h.bare.rpsPerCore },
      ],
    }));
    const lines = [
      `Same closed-loop generator (${h.connections} kept-alive connections, osquery's exact request) against Mimir and a bare \`node:https\` server answering the same body; ${h.rounds} alternating round(s) of ${h.durationSec} s. Raw ratio: best round of each; per-core ratio: median rounds.`,
      '',
      '| server | req/s | p50 ms | p99 ms | errors | server CPU % | server starved % | req/s per server core | generator CPU % |',
      '|---|---|---|---|---|---|---|---|---|',
      ...h.runs.map((x) => `| ${x.server} | ${n(x.rps)} | ${n(x.p50Ms, 2)} | ${n(x.p99Ms, 2)} | ${x.errors} | ${n(x.serverCpuPercent)} | ${n(x.serverStarvedPercent)} | ${n(x.rpsPerCore)} | ${n(x.generatorCpuPercent)} |`),
      '',
      `Ratio: **${n(h.ratio * 100)}%** of bare req/s, **${n(h.ratioPerCore * 100)}%** per server core.${h.generatorBound ? ' The bare server did not saturate its core (the generator or other work on the machine was the limit), so the per-core ratio decides.' : ''}`,
      '',
      `![hot path](${c})`,
    ];
    return lines;
  }), '');

  md.push('## 2. Hosts one server process sustains at default intervals', '');
  md.push(...section(r.capacity, (c) => {
    const steps = c.steps;
    const series = (['config', 'distributed/read', 'distributed/write', 'log'] as const).map((e) => ({
      name: `${e} p99`, points: steps.map((s): [number, number] => [s.hosts, s.endpoints[e]?.p99Ms ?? NaN]),
    }));
    const p99 = chart('capacity-p99', lineChart({ title: 'p99 latency per endpoint vs hosts', xLabel: 'simulated hosts', yLabel: 'p99 (ms)', series, reference: { y: 100, label: 'target 100 ms' } }));
    const cpu = chart('capacity-cpu', lineChart({
      title: 'Server CPU and requests vs hosts', xLabel: 'simulated hosts', yLabel: 'server CPU % (one core = 100)',
      series: [{ name: 'server CPU %', points: steps.map((s) => [s.hosts, s.serverCpuPercent]) }, { name: 'simulator CPU %', points: steps.map((s) => [s.hosts, s.simCpuPercent]) }],
    }));
    return [
      `The simulator (\`npm run loadsim\`, own process) grows the fleet step by step; hosts share ${c.connections === 0 ? 'nothing (one connection each)' : `${c.connections.toLocaleString('en-US')} kept-alive connections`}; distributed interval ${c.distributedIntervalSec} s, logs 10 s, config 60 s. Each step: all hosts started, one interval to settle, then a measured window.`,
      '',
      '| hosts | req/s | polls/s (expected) | read p50/p99 ms | write p99 | log p99 | config p99 | errors % | server CPU % | server starved % | VM steal % | loop delay p99/max ms | CPU µs/req | est. hosts/core | server RSS MiB | sim CPU % | sim RSS MiB | sim lag p99 ms | result |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...steps.map((s) => {
        const e = s.endpoints;
        return `| ${n(s.hosts)} | ${n(s.rps)} | ${n(s.pollRps)} (${n(s.expectedRps)}) | ${n(e['distributed/read']?.p50Ms, 1)}/${n(e['distributed/read']?.p99Ms, 1)} | ${n(e['distributed/write']?.p99Ms, 1)} | ${n(e.log?.p99Ms, 1)} | ${n(e.config?.p99Ms, 1)} | ${n(s.errorRate * 100, 2)} | ${n(s.serverCpuPercent)} | ${n(s.serverStarvedPercent)} | ${n(s.machineStealPercent, 1)} | ${n(s.serverLoopDelayP99Ms)}/${n(s.serverLoopDelayMaxMs)} | ${n(s.serverCpuUsPerRequest)} | ${n(s.hostsPerCoreEstimate)} | ${n(s.serverRssMiB)} | ${n(s.simCpuPercent)} | ${n(s.simRssMiB)} | ${n(s.simLagP99Ms)} | ${s.sustained ? 'sustained' : `not sustained (${s.limitedBy}): ${s.reason}`} |`;
      }),
      '',
      ...(steps.some((s) => Object.keys(s.serverLatency).length > 0)
        ? [
          '',
          'Time in the server per request (arrival to last byte written, measured in the server process), p50/p99 ms, next to what the simulator saw: the difference was spent on the way (connection pool, sockets, the simulator\'s own event loop).',
          '',
          '| hosts | read in server | read in simulator | log in server | log in simulator | config in server | config in simulator |',
          '|---|---|---|---|---|---|---|',
          ...steps.map((s) => {
            const srv = (k: 'distributed/read' | 'log' | 'config'): string => `${n(s.serverLatency[k]?.p50Ms, 1)}/${n(s.serverLatency[k]?.p99Ms, 1)}`;
            const sim = (k: 'distributed/read' | 'log' | 'config'): string => `${n(s.endpoints[k]?.p50Ms, 1)}/${n(s.endpoints[k]?.p99Ms, 1)}`;
            return `| ${n(s.hosts)} | ${srv('distributed/read')} | ${sim('distributed/read')} | ${srv('log')} | ${sim('log')} | ${srv('config')} | ${sim('config')} |`;
          }),
        ]
        : []),
      ...steps.filter((s) => s.serverStalls.length > 0).flatMap((s) => [
        '',
        `Event-loop stalls ≥ 20 ms at ${n(s.hosts)} hosts (synchronous SQLite statements and GC pauses, traced in the server process):`,
        '',
        '| what | times | total ms | max ms |',
        '|---|---|---|---|',
        ...s.serverStalls.map((x) => `| \`${x.what.replace(/\|/g, '\\|')}\` | ${x.count} | ${n(x.totalMs)} | ${n(x.maxMs)} |`),
      ]),
      '',
      `Most hosts sustained: **${n(c.maxSustainedHosts)}**. "est. hosts/core" scales the step's host count by the server CPU it used (linear, so an estimate, not a measurement): it tells what the server would carry with a whole core to itself, whatever else ran on the machine. "server starved %" is the share of the window the server's event loop was ready to run but waiting for a CPU taken by other processes (Linux schedstat). "VM steal %" is the share of all CPU time the hypervisor gave to something else (/proc/stat): every process here, server and simulator alike, waits then.`,
      '',
      `![p99 vs hosts](${p99})`,
      '',
      `![CPU vs hosts](${cpu})`,
    ];
  }), '');

  md.push('## 3. Live query: time to reach 100% of online hosts', '');
  md.push(...section(r.capacity, (c) => {
    const live = c.live;
    const lines = [
      'At the live-query sizes of the ramp, one query (`SELECT … FROM osquery_info`) is queued for every online host; the server counts the hosts whose results it stored. Hosts check in every distributed interval, so the floor is one interval.',
      '',
      '| hosts | queued via | 50% | 99% | 100% | answered | limit (interval + 2 s) |',
      '|---|---|---|---|---|---|---|',
      ...live.map((x) => `| ${n(x.hosts)} | ${x.method} | ${n(x.secondsTo50, 2)} s | ${n(x.secondsTo99, 2)} s | ${n(x.secondsTo100, 2)} s | ${n(x.answered)} | ${x.distributedIntervalSec + 2} s |`),
    ];
    if (c.liveSizesNotReached.length > 0) lines.push('', `Not reached (the ramp stopped before): ${c.liveSizesNotReached.map((x) => n(x)).join(', ')} hosts.`);
    if (live.length > 0) {
      const f = chart('live', lineChart({
        title: 'Hosts answered after enqueue', xLabel: 'seconds after enqueue', yLabel: '% of online hosts',
        series: live.map((x) => ({ name: `${n(x.hosts)} hosts`, points: x.curve.map(([t, k]): [number, number] => [t, (k / Math.max(1, x.hosts)) * 100]) })),
        reference: { y: 100, label: '100%' },
      }));
      lines.push('', `![live query](${f})`);
    }
    return lines;
  }), '');

  md.push('## 4. Log ingestion', '');
  md.push(...section(r.ingest, (g) => [
    `${g.hosts} hosts send result logs back to back, ${g.linesPerRequest} event lines (one row each) per request (${n(g.bodyBytes / 1024)} KiB bodies), over their own connections, for ${g.windowSec} s. Rows counted by the server (stored rows before and after).`,
    '',
    '| rows/s stored | requests | errors | request p50 ms | request p99 ms | server CPU % | rows per server CPU-second |',
    '|---|---|---|---|---|---|---|',
    `| **${n(g.rowsPerSec)}** | ${n(g.requests)} | ${g.errors} | ${n(g.requestP50Ms, 1)} | ${n(g.requestP99Ms, 1)} | ${n(g.serverCpuPercent)} | ${n(g.rowsPerCoreSecond)} |`,
  ]), '');

  md.push('## 5. Server memory per enrolled host', '');
  md.push(...section(r.memory, (mm) => {
    const f = chart('memory', barChart({
      title: 'Server memory per enrolled host', unit: 'B',
      bars: mm.points.flatMap((p) => [{ label: `RSS / host @ ${n(p.enrolled)}`, value: p.rssPerHostBytes }, { label: `heap / host @ ${n(p.enrolled)}`, value: p.heapPerHostBytes }]),
      reference: { value: 2048, label: '2 KiB target' },
    }));
    return [
      `Hosts enrolled in bulk through the osquery enroll endpoint (stand-in enroll bodies over ${mm.concurrency} shared connections: the lighter-weight client path, no simulated loops). After each size the server runs GC twice and reports memory; per host = growth over the fresh server (RSS ${mm.baseline.rssMiB} MiB, heap ${mm.baseline.heapUsedMiB} MiB) / hosts.`,
      '',
      '| hosts | enroll/s | RSS MiB | heap MiB | RSS per host | heap per host | hosts in cache |',
      '|---|---|---|---|---|---|---|',
      ...mm.points.map((p) => `| ${n(p.enrolled)} | ${n(p.enrollPerSec)} | ${n(p.rssMiB)} | ${n(p.heapUsedMiB)} | ${n(p.rssPerHostBytes)} B | ${n(p.heapPerHostBytes)} B | ${n(p.cachedHosts)} |`),
      '',
      `![memory](${f})`,
    ];
  }), '');

  md.push('## 6. REST host list with filters', '');
  md.push(...section(r.memory, (mm) => {
    const h = mm.hostList;
    if (h.status === 'missing') return ['**Missing:** `GET /api/v1/hosts` is not implemented on this server yet (answered 404 "no such API route"). Not measured, not faked.'];
    return [
      `${h.repetitions} sequential requests per query over ${n(h.hosts)} hosts, API token auth, one kept-alive connection.`,
      '',
      '| query | status | items | p50 ms | p99 ms |',
      '|---|---|---|---|---|',
      ...h.queries.map((q) => `| ${q.name} (\`${q.path}\`) | ${q.status} | ${q.items ?? '—'} | ${n(q.p50Ms, 1)} | ${n(q.p99Ms, 1)} |`),
    ];
  }), '');

  md.push('## 7. PostgreSQL and scale-out', '');
  md.push(...section(r.scaleOut, (so) => {
    const f = chart('scaleout', barChart({
      title: 'Same load per instance: throughput by setup', unit: '/s',
      bars: so.runs.flatMap((x) => [{ label: `${x.label}: rows stored/s`, value: x.rowsPerSec }, { label: `${x.label}: reads/s`, value: x.readsPerSec }]),
    }));
    const first = so.runs[0];
    const sharedCpu = so.runs.some((x) => new Set(x.serverCpus).size < x.serverCpus.length);
    return [
      `Each setup gets the same load per instance${first !== undefined ? ` (${first.hosts / first.instances} hosts per instance, for ${first.windowSec} s)` : ''}: half the hosts post result log batches back to back (rows counted in the database before and after the window), the other half poll \`distributed/read\` back to back. PostgreSQL runs get a fresh database each, dropped afterwards; with two instances, both share it. The instances, PostgreSQL and the load generator all run on this machine, so the × 2 run measures how the setup shares one machine's CPUs, not what a second machine adds.`,
      '',
      scaleOutTable(so),
      '',
      ...(sharedCpu ? ['Several instances were pinned to the same CPU (fewer than 4 CPUs here): the multi-instance run had no more server CPU than one instance, so it cannot show a scale-out gain.', ''] : []),
      `![scale-out](${f})`,
    ];
  }), '');

  if (r.profiles.length > 0) {
    md.push('## Server CPU profiles', '');
    for (const p of r.profiles) {
      md.push(`### ${p.scenario}`, '', `busy ${p.summary.busyPercent}% of ${n(p.summary.durationMs)} ms, GC ${p.summary.gcPercent}%`, '', '| self % | total % | function |', '|---|---|---|');
      for (const e of p.summary.topSelf.slice(0, 15)) md.push(`| ${e.selfPercent} | ${e.totalPercent} | \`${e.name}\` |`);
      md.push('');
    }
  }
  md.push('## Method', '',
    '- All traffic is loopback. The server under test is `bench/server-process.ts`: `buildApp` with the configuration `mimir serve` loads from the environment (embedded defaults, jobs on), a fresh data directory per scenario, its own process (CPU from `process.cpuUsage()`, memory from `process.memoryUsage()` after `gc()`).',
    '- Hosts are the osqueryd stand-in (`@mimir/osquery-protocol/standin`), so each request is byte-for-byte what osqueryd 5.23.1 sends.',
    '- This machine allows 20 000 open files per process, so neither side can hold one connection per host beyond ~19 000 hosts: the capacity ramp lets hosts share kept-alive connections (`loadsim --connections`).',
    '- The scale-out run (section 7) uses the PostgreSQL server named by `MIMIR_BENCH_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`, on this machine), a fresh database per setup, dropped afterwards; `--no-postgres` skips it.',
    '- Benchmarks, not tests: nothing here fails CI. `bench-smoke.test.ts` runs `--tiny` to keep the harness working.',
    '');
  const mdPath = `${base}.md`;
  writeFileSync(mdPath, md.join('\n'));
  const jsonPath = `${base}.json`;
  writeFileSync(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  return { md: mdPath, json: jsonPath };
}
