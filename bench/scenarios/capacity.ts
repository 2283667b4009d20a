/**
 * Scenarios 2 and 3 — how many hosts one server process sustains at default intervals, and how long
 * a live query takes to reach every online host.
 *
 * The simulator (`npm run loadsim`, forked with an IPC channel) grows the fleet step by step. Each
 * step: grow, wait until every host started, settle one distributed interval, then measure a window
 * (per-endpoint p50/p99 and error rate from the simulator, CPU and memory from the server). A step is
 * sustained when every check-in endpoint's p99 is under 100 ms, errors stay under 0.1 % and the
 * fleet makes the requests its size calls for; the ramp stops at the first step that is not. At the
 * live-query sizes a query is enqueued (operator API when it exists, else in-process) and the
 * server counts the hosts whose results arrived.
 */
import { join } from 'node:path';
import { ENDPOINTS, Histogram, type EndpointData, type EndpointName, type FleetSnapshot } from '@mimir/loadsim';
import { ApiClient, routeExists } from '../lib/api.js';
import { Child } from '../lib/child.js';
import { stealPercent, stealTicks } from '../lib/machine-load.js';
import { cpuPercent, r1, r2, sleep, acquireMimir, type BenchSettings, type MimirServer, type Verdict } from '../lib/context.js';
import type { Usage } from '../lib/protocol.js';

export interface EndpointFigures {
  rps: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
}

export interface CapacityStep {
  hosts: number;
  started: number;
  windowSec: number;
  rps: number;
  /** Polls/s (distributed/read + config) the fleet should make at its intervals, and made. */
  expectedRps: number;
  pollRps: number;
  errorRate: number;
  endpoints: Partial<Record<EndpointName, EndpointFigures>>;
  /** Highest p99 among config, distributed/read, distributed/write and log. */
  worstP99Ms: number | null;
  serverCpuPercent: number;
  /** Server CPU per request (µs) and a linear estimate of hosts one fully used core would carry. */
  serverCpuUsPerRequest: number | null;
  hostsPerCoreEstimate: number | null;
  serverRssMiB: number;
  serverHeapMiB: number;
  /** Event-loop delay in the window: stalls of the single loop (synchronous SQLite, GC), CPU or not. */
  serverLoopDelayP99Ms: number | null;
  serverLoopDelayMaxMs: number | null;
  /** Share of the window the server's event loop was runnable but waiting for a CPU (other work). */
  serverStarvedPercent: number | null;
  /** Hypervisor steal over the window, machine-wide: every process on the VM paused at once. */
  machineStealPercent: number | null;
  /** What held the server's event loop ≥ 20 ms in the window (SQL statements, GC pauses). */
  serverStalls: Array<{ what: string; count: number; totalMs: number; maxMs: number }>;
  /** Server-side time per request by endpoint (arrival to last byte), to set against the simulator's latencies. */
  serverLatency: Record<string, { count: number; p50Ms: number; p99Ms: number }>;
  simCpuPercent: number;
  simRssMiB: number;
  /** Simulator lateness: when high, the simulator (not the server) was the limit. */
  simLagP99Ms: number | null;
  sustained: boolean;
  limitedBy: 'nothing' | 'server' | 'simulator';
  reason: string;
}

export interface LiveQueryRun {
  hosts: number;
  method: 'operator API' | 'in-process enqueue';
  /** Seconds from enqueue until results from this share of the hosts had arrived. */
  secondsTo50: number | null;
  secondsTo99: number | null;
  secondsTo100: number | null;
  answered: number;
  distributedIntervalSec: number;
  met: boolean | null;
  curve: Array<[number, number]>;
}

export interface CapacityResult {
  connections: number;
  distributedIntervalSec: number;
  steps: CapacityStep[];
  maxSustainedHosts: number;
  live: LiveQueryRun[];
  liveSizesNotReached: number[];
  verdictCapacity: Verdict;
  verdictLive: Verdict;
  profile?: string;
}

const CHECKIN: readonly EndpointName[] = ['config', 'distributed/read', 'distributed/write', 'log'];

function isSnapshot(m: unknown): FleetSnapshot | undefined {
  const o = m as { type?: string; snapshot?: FleetSnapshot };
  return o.type === 'summary' && o.snapshot !== undefined ? o.snapshot : undefined;
}

class SnapshotLog {
  readonly all: FleetSnapshot[] = [];
  latest: FleetSnapshot | undefined;

  constructor(child: Child) {
    child.onMessage((m) => {
      const s = isSnapshot(m);
      if (s === undefined) return;
      this.all.push(s);
      this.latest = s;
    });
  }

  /** Snapshots whose interval ended after `from` and at or before `to`. */
  between(from: number, to: number): FleetSnapshot[] {
    return this.all.filter((s) => s.at > from && s.at <= to);
  }
}

function mergeWindow(snaps: readonly FleetSnapshot[]): { seconds: number; table: Record<EndpointName, { requests: number; errors: number; hist: Histogram }>; lag: Histogram; cpu: number } {
  const table = {} as Record<EndpointName, { requests: number; errors: number; hist: Histogram }>;
  for (const e of ENDPOINTS) table[e] = { requests: 0, errors: 0, hist: new Histogram() };
  const lag = new Histogram();
  let ms = 0;
  let cpuMs = 0;
  for (const s of snaps) {
    ms += s.intervalMs;
    cpuMs += (s.cpuPercent / 100) * s.intervalMs;
    lag.merge(s.lag);
    for (const e of ENDPOINTS) {
      const d: EndpointData = s.endpoints[e];
      const t = table[e];
      t.requests += d.requests;
      t.errors += d.errors + d.transport;
      t.hist.merge(d.latency);
    }
  }
  return { seconds: ms / 1000, table, lag, cpu: ms > 0 ? (cpuMs / ms) * 100 : 0 };
}

interface Plan {
  steps: number[];
  liveSizes: number[];
  growPerSec: number;
  settleMs: number;
  windowMs: number;
  distributedSec: number;
  connections: number;
}

function plan(s: BenchSettings): Plan {
  if (s.tiny) {
    // One small step: the smoke run proves the ramp, the live query and the report, not capacity.
    return { steps: [25], liveSizes: [25], growPerSec: 50, settleMs: 2_000, windowMs: 2_500, distributedSec: 2, connections: 0 };
  }
  const all = [1_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 75_000, 100_000];
  const steps = all.filter((n) => n <= s.maxHosts);
  if (steps.length === 0 || steps[steps.length - 1] !== s.maxHosts) steps.push(s.maxHosts);
  return {
    steps,
    liveSizes: [1_000, 10_000, 50_000].filter((n) => n <= s.maxHosts),
    // A new host costs the server an enroll plus its first vitals write (several ms of CPU, against
    // well under 1 ms for a check-in): grow slowly enough that the ramp is not an enroll storm, and
    // let the backlog drain before measuring.
    growPerSec: 100,
    settleMs: 30_000,
    windowMs: 30_000,
    distributedSec: 10,
    // ulimit -n is 20 000 per process here: hosts share kept-alive connections (see loadsim --connections).
    connections: 4_000,
  };
}

async function liveQuery(
  srv: MimirServer, api: ApiClient, useApi: boolean, hosts: number, p: Plan, s: BenchSettings,
): Promise<LiveQueryRun> {
  const name = `bench_live_${hosts}_${Date.now()}`;
  const key = `watch-${name}`;
  const sql = "SELECT version, build_platform, instance_id FROM osquery_info";
  const since = Date.now();
  await srv.child.request('watch', useApi ? { key, source: 'live', since } : { key, name, since });
  let startedAt: number;
  if (useApi) {
    const r = await api.call('POST', '/api/v1/live-queries', { sql, targets: { all: true } });
    if (r.status >= 300) throw new Error(`POST /api/v1/live-queries: ${r.status} ${r.text.slice(0, 300)}`);
    startedAt = since;
  } else {
    const r = await srv.child.request<{ at: number; hosts: number }>('enqueue', { name, sql });
    startedAt = r.at;
  }
  const limitMs = (p.distributedSec * 3 + 15) * 1000;
  const curve: Array<[number, number]> = [];
  let count = 0;
  let lastAt: number | null = null;
  const at = (share: number): number | null => {
    const need = Math.ceil(hosts * share);
    const hit = curve.find(([, c]) => c >= need);
    return hit === undefined ? null : r2(hit[0]);
  };
  while (Date.now() - startedAt < limitMs) {
    const st = await srv.child.request<{ count: number; lastAt: number | null }>('watch-status', { key });
    count = st.count;
    lastAt = st.lastAt;
    curve.push([(Date.now() - startedAt) / 1000, count]);
    if (count >= hosts) break;
    await sleep(s.tiny ? 100 : 250);
  }
  const to100 = count >= hosts && lastAt !== null ? r2((lastAt - startedAt) / 1000) : null;
  return {
    hosts, method: useApi ? 'operator API' : 'in-process enqueue', secondsTo50: at(0.5), secondsTo99: at(0.99), secondsTo100: to100,
    answered: count, distributedIntervalSec: p.distributedSec,
    met: to100 === null ? false : to100 <= p.distributedSec + 2, curve: curve.map(([t, c]) => [r2(t), c]),
  };
}

export async function capacity(s: BenchSettings): Promise<CapacityResult> {
  const p = plan(s);
  // Stall tracing costs one performance.now() pair per statement: negligible next to the statement.
  const { srv, release } = await acquireMimir(s, 'capacity', { BENCH_TRACE_STALLS: '1' });
  let sim: Child | undefined;
  const steps: CapacityStep[] = [];
  const live: LiveQueryRun[] = [];
  let profile: string | undefined;
  let api: ApiClient | undefined;
  try {
    const { token } = await srv.child.request<{ token: string }>('token');
    api = new ApiClient(srv.ready.port, srv.ready.ca, token);
    const useApi = await routeExists(api, 'POST', '/api/v1/live-queries', {});
    const first = p.steps[0] ?? 0;
    const args = [
      '--hosts', String(first), '--server', `https://${srv.tlsHostname}`, '--secret', srv.ready.secret, '--ca', srv.caFile,
      '--enroll-window', String(Math.max(1, first / p.growPerSec)), '--no-node-key-file', '--summary-interval', s.tiny ? '1' : '5', '--json',
      '--connections', String(p.connections), '--distributed-interval', String(p.distributedSec),
    ];
    // The tiny run shortens the distributed interval so a live query lands in seconds; pinned so
    // the server's config (10 s) does not lengthen it again.
    if (s.tiny) args.push('--pin-intervals', '--logger-interval', '2', '--carves-per-hour', '0');
    sim = Child.start({
      script: 'packages/loadsim/src/bin/loadsim.ts', args, execArgv: ['--max-old-space-size=8192'],
      ...(s.loadCpu !== undefined ? { cpu: s.loadCpu } : {}), logFile: join(s.workDir, 'loadsim.log'),
    });
    const snaps = new SnapshotLog(sim);
    let target = first;
    for (const hosts of p.steps) {
      if (hosts > target) {
        sim.post({ type: 'grow', hosts: hosts - target, windowSec: (hosts - target) / p.growPerSec });
        target = hosts;
      }
      s.log(`  capacity: ${hosts} hosts — starting`);
      const startDeadline = Date.now() + Math.max(60_000, (hosts / p.growPerSec) * 3_000);
      while ((snaps.latest?.hosts.started ?? 0) < hosts && Date.now() < startDeadline) await sleep(500);
      const started = snaps.latest?.hosts.started ?? 0;
      await sleep(p.settleMs);
      const steal0 = stealTicks();
      const u0: Usage = await srv.usage();
      const from = Date.now();
      await sleep(p.windowMs);
      const to = Date.now();
      const u1: Usage = await srv.usage();
      const steal1 = stealTicks();
      // Let the summary that closes the window arrive.
      await sleep(s.tiny ? 1_200 : 5_500);
      const w = mergeWindow(snaps.between(from, to + (s.tiny ? 1_000 : 5_000)));
      const endpoints: Partial<Record<EndpointName, EndpointFigures>> = {};
      let requests = 0;
      let errors = 0;
      let worst: number | null = null;
      for (const e of ENDPOINTS) {
        const t = w.table[e];
        if (t.requests === 0) continue;
        requests += t.requests;
        errors += t.errors;
        const p50 = t.hist.percentile(0.5);
        const p99 = t.hist.percentile(0.99);
        endpoints[e] = { rps: r1(t.requests / Math.max(0.001, w.seconds)), p50Ms: Number.isFinite(p50) ? r2(p50) : null, p99Ms: Number.isFinite(p99) ? r2(p99) : null, errors: t.errors };
        if (CHECKIN.includes(e) && Number.isFinite(p99)) worst = Math.max(worst ?? 0, p99);
      }
      const rps = requests / Math.max(0.001, w.seconds);
      // Polls the fleet must make whatever its data: a read per distributed interval and a config
      // fetch per minute per host (log requests depend on what the schedule produced).
      const polls = (w.table['distributed/read'].requests + w.table.config.requests) / Math.max(0.001, w.seconds);
      const expectedRps = started * (1 / p.distributedSec + 1 / 60);
      const errorRate = requests === 0 ? 0 : errors / requests;
      const lagP99 = w.lag.percentile(0.99);
      const serverCpu = cpuPercent(u0, u1);
      const simLagging = Number.isFinite(lagP99) && lagP99 > 1_000;
      const problems: string[] = [];
      if (started < hosts) problems.push(`only ${started}/${hosts} hosts started`);
      if (worst === null || worst >= 100) problems.push(`check-in p99 ${worst === null ? 'unknown' : `${r1(worst)} ms`} ≥ 100 ms`);
      if (errorRate >= 0.001) problems.push(`error rate ${(errorRate * 100).toFixed(2)}%`);
      if (polls < expectedRps * 0.85) problems.push(`${polls.toFixed(0)} polls/s of ${expectedRps.toFixed(0)} expected`);
      const sustained = problems.length === 0;
      const limitedBy: CapacityStep['limitedBy'] = sustained ? 'nothing' : simLagging && serverCpu < 90 ? 'simulator' : 'server';
      const step: CapacityStep = {
        hosts, started, windowSec: r1(w.seconds), rps: r1(rps), expectedRps: r1(expectedRps), pollRps: r1(polls), errorRate: r2(errorRate * 100) / 100,
        endpoints, worstP99Ms: worst === null ? null : r2(worst), serverCpuPercent: r1(serverCpu),
        serverCpuUsPerRequest: rps > 0 ? Math.round((serverCpu / 100) * 1e6 / rps) : null,
        hostsPerCoreEstimate: serverCpu > 0 && started > 0 ? Math.round((started * 100) / serverCpu) : null,
        serverRssMiB: r1(u1.memory.rss / 1024 ** 2), serverHeapMiB: r1(u1.memory.heapUsed / 1024 ** 2),
        serverLoopDelayP99Ms: u1.loopDelay !== undefined ? r1(u1.loopDelay.p99Ms) : null, serverLoopDelayMaxMs: u1.loopDelay !== undefined ? r1(u1.loopDelay.maxMs) : null,
        serverStalls: u1.stalls ?? [], serverLatency: u1.serverLatency ?? {},
        serverStarvedPercent: u0.runQueueWaitMs !== undefined && u1.runQueueWaitMs !== undefined ? r1(((u1.runQueueWaitMs - u0.runQueueWaitMs) / Math.max(1, u1.at - u0.at)) * 100) : null, machineStealPercent: stealPercent(steal0, steal1),
        simCpuPercent: r1(w.cpu), simRssMiB: snaps.latest?.rssMiB ?? 0,
        simLagP99Ms: Number.isFinite(lagP99) ? r1(lagP99) : null, sustained, limitedBy, reason: sustained ? 'sustained' : problems.join('; '),
      };
      steps.push(step);
      s.log(`  capacity: ${hosts} hosts — ${step.rps} req/s, worst p99 ${step.worstP99Ms ?? '-'} ms, server CPU ${step.serverCpuPercent}%, ${step.reason}`);
      if (p.liveSizes.includes(hosts) && started > 0) {
        const run = await liveQuery(srv, api, useApi, started, p, s);
        live.push(run);
        s.log(`  live query on ${started} hosts: 100% after ${run.secondsTo100 ?? '—'} s (${run.answered} answered)`);
      }
      // A tiny run is a smoke test: every step runs, sustained or not.
      if (!sustained && !s.tiny) break;
    }
    if (s.profile && steps.length > 0) {
      // Profiled in a window of its own after the ramp, so the profiler's cost stays out of the figures.
      s.log(`  capacity: profiling the server at ${steps[steps.length - 1]?.hosts ?? 0} hosts`);
      await srv.child.request('profile-start');
      await sleep(s.tiny ? 2_000 : 15_000);
      profile = join(s.workDir, 'capacity.cpuprofile');
      await srv.child.request('profile-stop', { file: profile });
    }
    const maxSustained = steps.filter((x) => x.sustained).reduce((m, x) => Math.max(m, x.hosts), 0);
    const capTarget = s.tiny ? p.steps[p.steps.length - 1] ?? 0 : 50_000;
    const largestLive = live.reduce<LiveQueryRun | undefined>((a, b) => (a === undefined || b.hosts > a.hosts ? b : a), undefined);
    const liveTargetHosts = s.tiny ? (p.liveSizes[p.liveSizes.length - 1] ?? 0) : 50_000;
    const notReached = p.liveSizes.filter((n) => !live.some((r) => r.hosts >= n * 0.99));
    const result: CapacityResult = {
      connections: p.connections,
      distributedIntervalSec: p.distributedSec,
      steps,
      maxSustainedHosts: maxSustained,
      live,
      liveSizesNotReached: notReached,
      verdictCapacity: {
        target: `${capTarget.toLocaleString('en-US')} hosts on one process at p99 < 100 ms`,
        measured: `${maxSustained.toLocaleString('en-US')} hosts sustained${steps.some((x) => !x.sustained) ? `; next step: ${steps.find((x) => !x.sustained)?.reason ?? ''}` : ''}`,
        met: maxSustained >= capTarget,
        ...(steps.some((x) => x.limitedBy === 'simulator') ? { note: 'the simulator, not the server, fell behind first' } : {}),
      },
      verdictLive: {
        target: `live query at 100% within distributed_interval + 2 s for ${liveTargetHosts.toLocaleString('en-US')} hosts`,
        measured: largestLive === undefined ? 'not run' : `${largestLive.hosts.toLocaleString('en-US')} hosts: 100% after ${largestLive.secondsTo100 ?? '—'} s (limit ${largestLive.distributedIntervalSec + 2} s)`,
        met: largestLive === undefined ? null : largestLive.hosts >= liveTargetHosts * 0.99 && largestLive.met === true,
        ...(notReached.length > 0 ? { note: `not reached: ${notReached.join(', ')} hosts (the ramp stopped earlier)` } : {}),
      },
    };
    if (profile !== undefined) result.profile = profile;
    return result;
  } finally {
    api?.close();
    if (sim !== undefined) {
      sim.post({ type: 'stop' });
      const killer = setTimeout(() => sim?.proc.kill('SIGKILL'), 30_000);
      await sim.exited;
      clearTimeout(killer);
    }
    await release();
  }
}
