/**
 * The Mimir server under test, in its own process so its CPU and memory are its own. Started by the
 * benchmark with an IPC channel; production configuration (the server's embedded defaults, jobs
 * on) except for the data directory, the port and the log level. Answers a few commands over IPC:
 * resource usage, a forced GC, enqueueing a live query in-process, counting live results, and an
 * API token for the operator API.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import { OSQUERY_API_PREFIX } from '@mimir/osquery-protocol';
import { Histogram } from '@mimir/loadsim';
import { buildApp, type MimirApp } from '../packages/server/src/app.js';
import { loadConfig } from '../packages/server/src/config/config.js';
import { createLogger } from '../packages/server/src/logger.js';
import { appOptionsFromConfig } from '../packages/server/src/main.js';
import { ensureTlsMaterial } from '../packages/server/src/tls/tls.service.js';
import type { ChildRequest, ServerReady } from './lib/protocol.js';
import type { Repositories, Store } from '../packages/server/src/storage/store.js';

interface Watch {
  name: string | undefined;
  source: string | undefined;
  since: number;
  hosts: Set<number>;
  firstAt: number | undefined;
  lastAt: number | undefined;
}

/** Main-thread time waiting for a CPU (ms): how long the machine kept the event loop from running. */
function runQueueWaitMs(): number | undefined {
  try {
    const f = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/);
    return Number(f[1]) / 1e6;
  } catch {
    return undefined;
  }
}

/** A synchronous call that held the event loop for at least STALL_MS. */
const STALL_MS = 20;

interface StallTally {
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Where the event loop stalls: every better-sqlite3 statement call and every GC pause of STALL_MS or
 * more, by SQL text. better-sqlite3 is synchronous, so a slow statement (a big transaction, a COMMIT
 * that checkpoints the WAL) stops every request. The server's code is untouched: the statement
 * class is wrapped in this harness process only.
 */
class StallTracer {
  private tallies = new Map<string, StallTally>();

  constructor() {
    const probe = new BetterSqlite3(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
    probe.close();
    const add = (what: string, ms: number): void => {
      this.add(what, ms);
    };
    for (const method of ['run', 'all', 'get', 'iterate']) {
      const original = proto[method];
      if (typeof original !== 'function') continue;
      proto[method] = function timed(this: { source: string }, ...args: unknown[]): unknown {
        const t = performance.now();
        try {
          return (original as (...a: unknown[]) => unknown).apply(this, args);
        } finally {
          const ms = performance.now() - t;
          if (ms >= STALL_MS) add(`sql: ${this.source.replace(/\s+/g, ' ').slice(0, 90)}`, ms);
        }
      };
    }
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.duration >= STALL_MS) this.add('gc pause', e.duration);
    }).observe({ entryTypes: ['gc'] });
  }

  /**
   * Whole transactions too: on SQLite every statement of one runs synchronously, its awaits resolve
   * as microtasks, so a transaction holds the event loop from BEGIN to COMMIT even when none of
   * its statements alone reaches STALL_MS (a log batch is many short multi-row INSERTs).
   */
  traceTransactions(store: Store): void {
    const original = store.transaction.bind(store);
    store.transaction = async <T>(fn: (tx: Repositories) => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await original(fn);
      } finally {
        const ms = performance.now() - t;
        if (ms >= STALL_MS) this.add('transaction (BEGIN … COMMIT, wall time)', ms);
      }
    };
  }

  private latency = new Map<string, Histogram>();

  /** Server-side time per osquery request, arrival to last byte (see Usage.serverLatency). */
  traceLatency(server: { prependListener(event: 'request', fn: (req: IncomingMessage, res: ServerResponse) => void): unknown }): void {
    const prefix = `${OSQUERY_API_PREFIX}/`;
    server.prependListener('request', (req, res) => {
      const url = req.url ?? '';
      if (!url.startsWith(prefix)) return;
      const t = performance.now();
      const endpoint = url.slice(prefix.length);
      res.once('finish', () => {
        let h = this.latency.get(endpoint);
        if (h === undefined) this.latency.set(endpoint, (h = new Histogram()));
        h.record(performance.now() - t);
      });
    });
  }

  takeLatency(): Record<string, { count: number; p50Ms: number; p99Ms: number }> {
    const out: Record<string, { count: number; p50Ms: number; p99Ms: number }> = {};
    for (const [endpoint, h] of this.latency) out[endpoint] = { count: h.count, p50Ms: h.percentile(0.5), p99Ms: h.percentile(0.99) };
    this.latency = new Map();
    return out;
  }

  private add(what: string, ms: number): void {
    const t = this.tallies.get(what) ?? { count: 0, totalMs: 0, maxMs: 0 };
    t.count++;
    t.totalMs += ms;
    t.maxMs = Math.max(t.maxMs, ms);
    this.tallies.set(what, t);
  }

  /** The worst offenders since the last call, by total stalled time. */
  take(top = 6): Array<{ what: string; count: number; totalMs: number; maxMs: number }> {
    const out = [...this.tallies].sort((a, b) => b[1].totalMs - a[1].totalMs).slice(0, top)
      .map(([what, t]) => ({ what, count: t.count, totalMs: Math.round(t.totalMs), maxMs: Math.round(t.maxMs) }));
    this.tallies = new Map();
    return out;
  }
}

function send(m: unknown): void {
  if (process.connected) process.send?.(m);
}

async function main(): Promise<void> {
  const dataDir = process.env['MIMIR_DATA_DIR'];
  if (dataDir === undefined) throw new Error('MIMIR_DATA_DIR must be set');
  const tracer = process.env['BENCH_TRACE_STALLS'] === '1' ? new StallTracer() : undefined;
  const config = loadConfig(process.env);
  const logger = createLogger({ level: config.log.level, format: 'json' });
  const tls = await ensureTlsMaterial({ dataDir: config.dataDir, hostnames: ['127.0.0.1', 'localhost'] });
  const app: MimirApp = await buildApp({ ...appOptionsFromConfig(config, logger), https: { cert: tls.cert, key: tls.key } });
  if (tracer !== undefined && app.store.dialect.name === 'sqlite') tracer.traceTransactions(app.store);
  tracer?.traceLatency(app.fastify.server);
  await app.fastify.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.fastify.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');

  const watches = new Map<string, Watch>();
  app.core.distributed.on('result', (hostId, result, source) => {
    const now = Date.now();
    for (const w of watches.values()) {
      if (now < w.since) continue;
      if (w.name !== undefined && result.id !== w.name) continue;
      if (w.source !== undefined && source !== w.source) continue;
      if (!w.hosts.has(hostId)) {
        w.hosts.add(hostId);
        w.firstAt ??= now;
        w.lastAt = now;
      }
    }
  });

  let elu = performance.eventLoopUtilization();
  // Blocking shows here even when CPU is low: synchronous SQLite work (a big transaction, a WAL
  // checkpoint's fsync) stalls every request on the single event loop.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let profiler: Session | undefined;
  const post = (session: Session, method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      session.post(method, params, (err, result) => {
        if (err !== null) reject(err);
        else resolve(result);
      });
    });
  let stopping = false;
  const handle = async (req: ChildRequest): Promise<unknown> => {
    switch (req.cmd) {
      case 'usage': {
        const next = performance.eventLoopUtilization();
        const delta = performance.eventLoopUtilization(next, elu);
        elu = next;
        const delay = { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 };
        loopDelay.reset();
        return {
          at: Date.now(), cpu: process.cpuUsage(), memory: process.memoryUsage(), elu: delta.utilization, loopDelay: delay,
          runQueueWaitMs: runQueueWaitMs(), cachedHosts: app.services.cache.size, stalls: tracer?.take() ?? [], ...(tracer !== undefined ? { serverLatency: tracer.takeLatency() } : {}),
        };
      }
      case 'gc': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc === undefined) throw new Error('start the server with --expose-gc');
        // Twice: the first pass may only finalize what the second frees.
        gc();
        await new Promise((r) => setTimeout(r, 50));
        gc();
        return { at: Date.now(), memory: process.memoryUsage(), cachedHosts: app.services.cache.size };
      }
      case 'enqueue': {
        const { name, sql } = req.args as { name: string; sql: string };
        // Every host the cache holds (it holds each host that enrolled or checked in since start:
        // the online ones). Ids are dense in a fresh database; stop after a long gap.
        const ids: number[] = [];
        const want = app.services.cache.size;
        for (let id = 1, miss = 0; ids.length < want && miss < 100_000; id++) {
          if (app.services.cache.getById(id) !== undefined) {
            ids.push(id);
            miss = 0;
          } else miss++;
        }
        const at = Date.now();
        await app.core.distributed.enqueue(ids.map((hostId) => ({ hostId, name, sql, source: 'live' })), at);
        return { at, hosts: ids.length, tookMs: Date.now() - at };
      }
      case 'watch': {
        const { key, name, source, since } = req.args as { key: string; name?: string; source?: string; since?: number };
        watches.set(key, { name, source, since: since ?? Date.now(), hosts: new Set(), firstAt: undefined, lastAt: undefined });
        return { at: Date.now() };
      }
      case 'watch-status': {
        const { key } = req.args as { key: string };
        const w = watches.get(key);
        if (w === undefined) throw new Error(`no watch ${key}`);
        return { count: w.hosts.size, since: w.since, firstAt: w.firstAt ?? null, lastAt: w.lastAt ?? null };
      }
      case 'token': {
        const email = `bench-${Date.now()}@example.com`;
        const now = Date.now();
        const userId = await app.core.auth.createUser({ email, role: 'admin', password: 'bench password, not a secret' }, now);
        const { token } = await app.core.auth.createToken({ kind: 'session', userId, email, role: 'admin' }, { name: 'bench' }, now);
        return { token };
      }
      case 'counts': {
        return { hosts: await app.store.hosts.count(), results: await app.store.logs.countResults(), statuses: await app.store.logs.countStatuses() };
      }
      case 'profile-start': {
        // In-process sampling profiler (what --cpu-prof uses), started and stopped around one
        // scenario so start-up (module loading, schema compilation) stays out of the picture.
        if (profiler !== undefined) throw new Error('already profiling');
        profiler = new Session();
        profiler.connect();
        await post(profiler, 'Profiler.enable');
        await post(profiler, 'Profiler.setSamplingInterval', { interval: 200 });
        await post(profiler, 'Profiler.start');
        return { at: Date.now() };
      }
      case 'profile-stop': {
        const { file } = req.args as { file: string };
        if (profiler === undefined) throw new Error('not profiling');
        const result = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
        profiler.disconnect();
        profiler = undefined;
        writeFileSync(file, JSON.stringify(result.profile));
        return { file };
      }
      case 'stop': {
        if (!stopping) {
          stopping = true;
          await app.fastify.close();
          await app.shutdown();
        }
        setTimeout(() => process.exit(0), 50);
        return { stopped: true };
      }
    }
  };

  process.on('message', (m: unknown) => {
    const req = m as ChildRequest;
    if (typeof req !== 'object' || typeof req.id !== 'number') return;
    handle(req).then(
      (result) => send({ id: req.id, ok: true, result }),
      (e: unknown) => send({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
  });
  // The benchmark died: do not linger as an orphan holding a port.
  process.on('disconnect', () => {
    void app.fastify.close().then(() => app.shutdown()).finally(() => process.exit(0));
  });
  const ready: ServerReady = {
    type: 'ready', port: addr.port, pid: process.pid, ca: readFileSync(tls.caPath ?? '', 'utf8'), secret: app.defaultSecret,
    cert: tls.cert, key: tls.key,
  };
  send(ready);
}

main().catch((e: unknown) => {
  process.stderr.write(`server-process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
