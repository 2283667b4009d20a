/**
 * A closed-loop load generator in the style of autocannon: N kept-alive connections, each sending
 * its next request as soon as the previous answer arrived, for a fixed time. Built on the stand-in's
 * OsqueryHttpClient so the bytes are osquery's, and so the same generator can load Mimir and a bare
 * Node server for a fair ratio. Bounded by time (and optionally by a request count).
 */
import {
  newHttpClientStats, OsqueryHttpClient, type OsqueryHttpRequest, type OsqueryHttpResponse,
} from '@mimir/osquery-protocol/standin';
import { Histogram, type HistogramData } from './histogram.js';

export interface LoadGenOptions {
  /** `host:port`. */
  tlsHostname: string;
  ca?: string;
  connections: number;
  /** Measured window after the warm-up. */
  durationMs: number;
  /** Requests before the window are sent but not counted (connections, JIT, caches warm up). */
  warmupMs: number;
  /** Stop early after this many measured requests. */
  maxRequests?: number;
  /** The request connection `i` sends next. */
  request: (connection: number) => OsqueryHttpRequest;
  /** False when an answer is not what the scenario expects: counted as an error. */
  check?: (res: OsqueryHttpResponse) => boolean;
  version?: string;
}

export interface LoadGenResult {
  connections: number;
  /** Length of the measured window actually run. */
  durationMs: number;
  requests: number;
  /** Answers that failed `check` or had a status ≥ 400. */
  errors: number;
  /** Requests with no answer. */
  transport: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  latency: HistogramData;
  /** This process's CPU during the window (100 = one core): is the generator the bottleneck? */
  generatorCpuPercent: number;
  connects: number;
}

export async function runClosedLoop(o: LoadGenOptions): Promise<LoadGenResult> {
  const stats = newHttpClientStats();
  const clients: OsqueryHttpClient[] = [];
  for (let i = 0; i < o.connections; i++) {
    const opts: ConstructorParameters<typeof OsqueryHttpClient>[0] = { tlsHostname: o.tlsHostname, stats };
    if (o.ca !== undefined) opts.ca = o.ca;
    if (o.version !== undefined) opts.version = o.version;
    clients.push(new OsqueryHttpClient(opts));
  }
  const hist = new Histogram();
  let requests = 0;
  let errors = 0;
  let transport = 0;
  const t0 = performance.now();
  const windowStart = t0 + o.warmupMs;
  const windowEnd = windowStart + o.durationMs;
  const limit = o.maxRequests ?? Number.POSITIVE_INFINITY;
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  const cpuTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
  }, o.warmupMs);
  let measuredEnd = windowEnd;
  const loop = async (i: number, client: OsqueryHttpClient): Promise<void> => {
    for (;;) {
      const started = performance.now();
      if (started >= windowEnd || requests >= limit) return;
      let ok = true;
      let answered = true;
      try {
        const res = await client.request(o.request(i));
        ok = res.status < 400 && (o.check?.(res) ?? true);
      } catch {
        answered = false;
      }
      const done = performance.now();
      if (started < windowStart) continue;
      if (done > windowEnd) return; // straddles the end: not counted, like autocannon
      requests++;
      if (!answered) transport++;
      else {
        hist.record(done - started);
        if (!ok) errors++;
      }
      if (requests >= limit) measuredEnd = Math.min(measuredEnd, done);
    }
  };
  try {
    await Promise.all(clients.map((c, i) => loop(i, c)));
  } finally {
    clearTimeout(cpuTimer);
    for (const c of clients) c.close();
  }
  const end = Math.min(measuredEnd, performance.now());
  const durationMs = Math.max(1, end - windowStart);
  const cpu = cpuAtStart === undefined ? undefined : process.cpuUsage(cpuAtStart);
  return {
    connections: o.connections,
    durationMs,
    requests,
    errors,
    transport,
    rps: (requests * 1000) / durationMs,
    p50Ms: hist.percentile(0.5),
    p99Ms: hist.percentile(0.99),
    latency: hist.toJSON(),
    generatorCpuPercent: cpu === undefined ? NaN : ((cpu.user + cpu.system) / 1000 / durationMs) * 100,
    connects: stats.connects,
  };
}
