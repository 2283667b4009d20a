/**
 * A simulated fleet: N osquery hosts in one process, each an osqueryd stand-in, driven by one timer
 * heap (not three timers per host) with a cap on requests in flight. Hosts start spread over the
 * enroll window, enroll (or resume with a saved node key), fetch their config, then poll config,
 * distributed/read (+ write) and flush logs on their intervals, like osqueryd's plugin threads; a
 * fleet-wide timer makes the occasional carve. Every loop is bounded: tasks stop when `stop()` is
 * called, retry sleeps are aborted, and in-flight requests are given a fixed time to finish.
 */
import { randomBytes } from 'node:crypto';
import {
  makeHostProfile, newHttpClientStats, OsqueryHttpClient, type HostTemplate, type HttpClientStats, type OsquerydStandinOptions,
} from '@mimir/osquery-protocol/standin';
import { DEFAULT_ANSWER_RATES, DEFAULT_QUERY_PREFIXES, unitHash, type AnswerRates, type QueryKind, type QueryPrefixes } from './answers.js';
import { TimerHeap } from './heap.js';
import { Histogram, type HistogramData } from './histogram.js';
import { SimulatedHost } from './host.js';
import { PooledHttpClient, TimedHttpClient } from './http.js';
import type { NodeKeyStore } from './keystore.js';
import { builtinSchedule, HostSchedule, scheduleFromConfig, type ScheduleSource } from './schedule.js';
import { ENDPOINTS, endpointTableData, RequestStats, type EndpointData, type EndpointName } from './stats.js';
import type { ServerTarget } from './target.js';

export interface TemplateWeight {
  template: HostTemplate;
  weight: number;
}

export interface FleetIntervals {
  /** Config poll (osquery `--config_refresh`), seconds. */
  configSec: number;
  /** distributed/read poll (`--distributed_interval`), seconds. */
  distributedSec: number;
  /** Log flush (`--logger_tls_period`), seconds. */
  loggerSec: number;
}

export interface FleetOptions {
  target: ServerTarget;
  /** PEM CA bundle the hosts pin (`--tls_server_certs`). */
  ca?: string;
  enrollSecret: string;
  hosts: number;
  /** Identity seed: host i is `makeHostProfile(template, "<seed>-<i>")`. */
  seed: string;
  templates: readonly TemplateWeight[];
  /** Hosts start evenly spread over this window. */
  enrollWindowMs: number;
  intervals: FleetIntervals;
  /** Keep the intervals above even when the server's config sets others (osquery would follow the config). */
  pinIntervals: boolean;
  rates: AnswerRates;
  prefixes: QueryPrefixes;
  /** Fleet-wide carves per hour (0 = none). */
  carvesPerHour: number;
  carveBytes: number;
  /** 0 = one kept-alive connection per host (as osquery); n = hosts share n connections. */
  connections: number;
  osqueryVersion?: string;
  keyStore: NodeKeyStore;
  schedule: ScheduleSource;
  statusLogs: boolean;
  /** At most this many host tasks (each one request chain) in flight. */
  maxInflight: number;
  loggerCompress: boolean;
  /** Time in-flight work gets to finish on stop before connections are cut. */
  drainMs: number;
}

export function defaultFleetOptions(target: ServerTarget, enrollSecret: string, keyStore: NodeKeyStore): FleetOptions {
  return {
    target,
    enrollSecret,
    hosts: 100,
    seed: 'loadsim',
    templates: DEFAULT_TEMPLATE_MIX,
    enrollWindowMs: 60_000,
    intervals: { configSec: 60, distributedSec: 10, loggerSec: 10 },
    pinIntervals: false,
    rates: DEFAULT_ANSWER_RATES,
    prefixes: DEFAULT_QUERY_PREFIXES,
    carvesPerHour: 1,
    carveBytes: 64 * 1024,
    connections: 0,
    keyStore,
    schedule: 'both',
    statusLogs: true,
    maxInflight: 20_000,
    loggerCompress: false,
    drainMs: 5_000,
  };
}

/** A typical mixed fleet: mostly Linux servers and Mac laptops, some Windows. */
export const DEFAULT_TEMPLATE_MIX: readonly TemplateWeight[] = [
  { template: 'ubuntu', weight: 40 },
  { template: 'rhel', weight: 15 },
  { template: 'macos', weight: 30 },
  { template: 'windows', weight: 15 },
];

type TaskKind = 'start' | 'config' | 'distributed' | 'log' | 'carve';

interface Slot {
  index: number;
  seed: string;
  template: HostTemplate;
  host: SimulatedHost | undefined;
  schedule: HostSchedule | undefined;
  busy: boolean;
  /** Tasks that came due while the host was busy. */
  waiting: Task[];
  started: boolean;
  /** The config object the schedule was last built from. */
  configRef: unknown;
  decorations: Record<string, string> | undefined;
  accelUntil: number;
  /** Result and status lines buffered on the host, not yet acknowledged. */
  pendingResults: number;
  pendingStatuses: number;
}

interface Task {
  at: number;
  slot: Slot;
  kind: TaskKind;
}

export interface AnswerCounts {
  answer: number;
  empty: number;
  fail: number;
}

export interface FleetSnapshot {
  /** Wall-clock time of the snapshot (ms since the epoch). */
  at: number;
  elapsedMs: number;
  /** Length of the interval the `endpoints` figures cover. */
  intervalMs: number;
  hosts: {
    target: number;
    /** Hosts running (enrolled or resumed, config fetched). */
    started: number;
    /** Enrollments this run. */
    enrolled: number;
    /** Hosts that resumed with a saved node key (no enroll). */
    resumed: number;
    enrollFailures: number;
    /** Hosts holding a node key now. */
    withKey: number;
  };
  /** Requests in this interval (all endpoints), per second, and those that failed. */
  requests: number;
  rps: number;
  errors: number;
  endpoints: Record<EndpointName, EndpointData>;
  totals: Record<EndpointName, EndpointData>;
  answers: Record<QueryKind, AnswerCounts>;
  /** Live query name → hosts that answered it (last 32 names). */
  liveAnswers: Record<string, number>;
  logLines: { result: number; status: number };
  carves: { ok: number; failed: number };
  /** How late tasks ran against their schedule in this interval: simulator saturation shows here. */
  lag: HistogramData;
  inflight: number;
  /** Time requests waited for a pooled connection in this interval (ms, summed). */
  poolWaitMs: number;
  /** Simulator process CPU in this interval (100 = one core). */
  cpuPercent: number;
  /** Simulator process resident memory, MiB. */
  rssMiB: number;
  connects: number;
  resends: number;
  timeouts: number;
  /** Last warning a host printed (osquery-style message) and how many in this interval. */
  warnings: { count: number; last: string | undefined };
  /** The last failed request per endpoint in this interval (`HTTP 500 {"error":…}`, `request timed out…`). */
  lastErrors: Partial<Record<EndpointName, string>>;
}

const MAX_DISPATCH_PER_TICK = 2_000;
const RESTART_AFTER_FAILED_ENROLL_MS = 60_000;
const LIVE_NAMES_KEPT = 32;
const KEY_SAVE_EVERY_MS = 10_000;

function pickTemplate(mix: readonly TemplateWeight[], seed: string, index: number): HostTemplate {
  const total = mix.reduce((s, t) => s + Math.max(0, t.weight), 0);
  if (total <= 0) return 'ubuntu';
  let u = unitHash(`${seed}\u0000template\u0000${index}`) * total;
  for (const t of mix) {
    u -= Math.max(0, t.weight);
    if (u < 0) return t.template;
  }
  return mix[mix.length - 1]?.template ?? 'ubuntu';
}

function emptyAnswers(): Record<QueryKind, AnswerCounts> {
  return { detail: { answer: 0, empty: 0, fail: 0 }, label: { answer: 0, empty: 0, fail: 0 }, live: { answer: 0, empty: 0, fail: 0 } };
}

export class Fleet {
  readonly stats = new RequestStats();
  readonly httpStats: HttpClientStats = newHttpClientStats();
  private readonly slots: Slot[] = [];
  private readonly heap = new TimerHeap<Task>();
  private readonly pool: PooledHttpClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private carveTimer: NodeJS.Timeout | undefined;
  private keyTimer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping: Promise<FleetSnapshot> | undefined;
  private inflight = 0;
  private readonly active = new Set<Promise<void>>();
  private startedAt = 0;
  private lastSnapshotAt = 0;
  private lastCpu = process.cpuUsage();
  private lastHttp = { connects: 0, resends: 0, timeouts: 0 };
  private lastPoolWait = 0;
  private lag = new Histogram();
  private counts = {
    started: 0, enrolled: 0, resumed: 0, enrollFailures: 0,
    resultLines: 0, statusLines: 0, carvesOk: 0, carvesFailed: 0,
  };
  private answers = emptyAnswers();
  private readonly liveAnswers = new Map<string, number>();
  private warnings = { count: 0, last: undefined as string | undefined };

  constructor(readonly options: FleetOptions) {
    if (options.connections > 0) {
      this.pool = new PooledHttpClient(this.httpOptions(), options.connections, this.stats.observe);
    }
  }

  private httpOptions(): ConstructorParameters<typeof OsqueryHttpClient>[0] {
    const o: ConstructorParameters<typeof OsqueryHttpClient>[0] = { tlsHostname: this.options.target.tlsHostname, stats: this.httpStats };
    if (this.options.ca !== undefined) o.ca = this.options.ca;
    if (this.options.osqueryVersion !== undefined) o.version = this.options.osqueryVersion;
    return o;
  }

  get hostCount(): number {
    return this.slots.length;
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Start the fleet: `options.hosts` hosts spread over the enroll window. */
  start(): void {
    if (this.running || this.stopping !== undefined) return;
    this.running = true;
    this.startedAt = Date.now();
    this.lastSnapshotAt = this.startedAt;
    this.lastCpu = process.cpuUsage();
    this.addHosts(this.options.hosts, this.options.enrollWindowMs);
    this.armCarves();
    this.keyTimer = setInterval(() => {
      try {
        this.options.keyStore.save();
      } catch (e) {
        this.warn(`saving node keys failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }, KEY_SAVE_EVERY_MS);
    this.keyTimer.unref();
  }

  /** Add `count` more hosts, their starts spread evenly over `windowMs` from now. */
  addHosts(count: number, windowMs: number): void {
    if (!this.running) return;
    const now = Date.now();
    const n = Math.max(0, Math.floor(count));
    for (let k = 0; k < n; k++) {
      const index = this.slots.length;
      const seed = `${this.options.seed}-${index}`;
      const slot: Slot = {
        index, seed, template: pickTemplate(this.options.templates, this.options.seed, index),
        host: undefined, schedule: undefined, busy: false, waiting: [], started: false,
        configRef: undefined, decorations: undefined, accelUntil: 0, pendingResults: 0, pendingStatuses: 0,
      };
      this.slots.push(slot);
      // Evenly spaced with a per-host offset inside its slice: a smooth enroll rate, no lockstep.
      const offset = n <= 1 ? 0 : ((k + unitHash(`${seed}\u0000start`)) * windowMs) / n;
      this.heap.push({ at: now + Math.floor(offset), slot, kind: 'start' });
    }
    this.arm();
  }

  private warn(message: string): void {
    this.warnings.count++;
    this.warnings.last = message;
  }

  /**
   * Retry sleeps inside the stand-in (enroll n², request i²). They fail when the fleet stops, which
   * ends the retry loop. Kept in a Set rather than as AbortSignal listeners: a failure storm puts
   * thousands of hosts to sleep at once.
   */
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (!this.running) {
        reject(new Error('simulator stopping'));
        return;
      }
      const entry = {
        timer: setTimeout(() => {
          this.sleepers.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleepers.add(entry);
    });

  private arm(): void {
    if (!this.running || this.timer !== undefined) return;
    const next = this.heap.peek();
    let wait = next === undefined ? 1000 : Math.min(1000, Math.max(0, next.at - Date.now()));
    if (this.inflight >= this.options.maxInflight) wait = Math.max(wait, 5);
    this.timer = setTimeout(this.pump, wait);
  }

  private readonly pump = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const now = Date.now();
    let dispatched = 0;
    while (dispatched < MAX_DISPATCH_PER_TICK && this.inflight < this.options.maxInflight) {
      const t = this.heap.peek();
      if (t === undefined || t.at > now) break;
      this.heap.pop();
      if (t.slot.busy) {
        t.slot.waiting.push(t);
        continue;
      }
      // Lateness of a task taken off the heap: how far behind the simulator itself is.
      this.lag.record(Math.max(0, now - t.at));
      this.dispatch(t);
      dispatched++;
    }
    this.arm();
  };

  private dispatch(t: Task): void {
    const slot = t.slot;
    slot.busy = true;
    this.inflight++;
    const p = this.runTask(t).finally(() => {
      this.active.delete(p);
      slot.busy = false;
      this.inflight--;
      if (!this.running) return;
      const next = slot.waiting.shift();
      if (next !== undefined && this.inflight < this.options.maxInflight) this.dispatch(next);
      else if (next !== undefined) this.heap.push(next);
      this.arm();
    });
    this.active.add(p);
  }

  private schedule(slot: Slot, kind: TaskKind, inMs: number): void {
    if (!this.running) return;
    this.heap.push({ at: Date.now() + Math.max(0, inMs), slot, kind });
  }

  private createHost(slot: Slot): SimulatedHost {
    const o = this.options;
    const version = o.osqueryVersion;
    const profile = makeHostProfile(slot.template, slot.seed, version !== undefined ? { version } : {});
    const so: OsquerydStandinOptions = {
      tlsHostname: o.target.tlsHostname,
      enrollSecret: o.enrollSecret,
      profile,
      distributedIntervalSec: o.intervals.distributedSec,
      loggerPeriodSec: o.intervals.loggerSec,
      configRefreshSec: o.intervals.configSec,
      loggerCompress: o.loggerCompress,
      sleep: this.sleep,
      onLog: (_severity, message) => this.warn(message),
    };
    if (o.ca !== undefined) so.ca = o.ca;
    if (version !== undefined) so.version = version;
    const key = o.keyStore.get(slot.index);
    if (key !== undefined) so.nodeKey = key;
    const http = this.pool ?? new TimedHttpClient(this.httpOptions(), this.stats.observe);
    return new SimulatedHost(so, http, {
      seed: slot.seed,
      rates: o.rates,
      prefixes: o.prefixes,
      onAnswer: (kind, name, result) => {
        const c = this.answers[kind];
        if (result.status !== 0) c.fail++;
        else if (result.rows.length === 0) c.empty++;
        else c.answer++;
        if (kind === 'live') this.countLive(name);
      },
    });
  }

  private countLive(name: string): void {
    const n = this.liveAnswers.get(name);
    if (n !== undefined) {
      this.liveAnswers.set(name, n + 1);
      return;
    }
    if (this.liveAnswers.size >= LIVE_NAMES_KEPT) {
      const oldest = this.liveAnswers.keys().next();
      if (oldest.done !== true) this.liveAnswers.delete(oldest.value);
    }
    this.liveAnswers.set(name, 1);
  }

  private async runTask(t: Task): Promise<void> {
    try {
      switch (t.kind) {
        case 'start':
          await this.startHost(t.slot);
          return;
        case 'config':
          await this.configTask(t.slot);
          return;
        case 'distributed':
          await this.distributedTask(t.slot);
          return;
        case 'log':
          await this.logTask(t.slot);
          return;
        case 'carve':
          await this.carveTask(t.slot);
          return;
      }
    } catch (e) {
      if (this.running) this.warn(e instanceof Error ? e.message : String(e));
      // A task that threw still keeps its host's loop alive (osquery's threads do not die either).
      if (this.running && t.kind !== 'carve' && t.kind !== 'start') this.schedule(t.slot, t.kind, this.intervalMs(t.slot, t.kind));
      if (this.running && t.kind === 'start') this.schedule(t.slot, 'start', RESTART_AFTER_FAILED_ENROLL_MS);
    } finally {
      this.recordKey(t.slot);
    }
  }

  private recordKey(slot: Slot): void {
    if (slot.host !== undefined) this.options.keyStore.set(slot.index, slot.host.nodeKey);
  }

  private intervalMs(slot: Slot, kind: TaskKind): number {
    const o = this.options;
    const host = slot.host;
    switch (kind) {
      case 'config':
        return o.intervals.configSec * 1000;
      case 'distributed': {
        if (!o.pinIntervals && host !== undefined) return host.distributedIntervalSec * 1000;
        // Pinned: osquery's 5 s accelerate window still applies, but never slows a shorter interval.
        const pinned = o.intervals.distributedSec * 1000;
        return Date.now() < slot.accelUntil ? Math.min(5_000, pinned) : pinned;
      }
      case 'log':
        // The stand-in knows the period the config set and osquery's n² backoff after failures.
        return (o.pinIntervals || host === undefined ? o.intervals.loggerSec : host.nextLogFlushSec) * 1000;
      case 'start':
      case 'carve':
        return 0;
    }
  }

  private async startHost(slot: Slot): Promise<void> {
    slot.host ??= this.createHost(slot);
    const host = slot.host;
    if (host.nodeKey === '') {
      const r = await host.enroll();
      if (!r.ok) {
        this.counts.enrollFailures++;
        this.warn(`enroll failed for ${host.hostIdentifier}: ${r.error}`);
        this.schedule(slot, 'start', RESTART_AFTER_FAILED_ENROLL_MS);
        return;
      }
      this.counts.enrolled++;
    } else if (!slot.started) {
      this.counts.resumed++;
    }
    // osqueryd's start order: enroll → config → logger → distributed (O-init).
    await host.config();
    this.refreshSchedule(slot);
    if (this.options.statusLogs) {
      const watcher = host.profile.tables.osquery_info['watcher'] ?? '0';
      host.logStatus(0, `osquery worker initialized [watcher=${watcher}]`, { filename: 'init.cpp', line: 379 });
      host.logStatus(0, 'Distributed query plugin "tls" is active', { filename: 'distributed.cpp', line: 84 });
      slot.pendingStatuses += 2;
    }
    if (!slot.started) this.counts.started++;
    slot.started = true;
    const phase = (what: string, ms: number): number => Math.floor(unitHash(`${slot.seed}\u0000${what}`) * ms);
    this.schedule(slot, 'log', 0);
    this.schedule(slot, 'distributed', phase('distributed', 1000));
    this.schedule(slot, 'config', this.intervalMs(slot, 'config'));
  }

  private refreshSchedule(slot: Slot): void {
    const host = slot.host;
    if (host === undefined) return;
    const config = host.lastConfig;
    if (slot.schedule !== undefined && slot.configRef === config) return;
    slot.configRef = config;
    slot.schedule ??= new HostSchedule(slot.seed);
    const src = this.options.schedule;
    const queries = [
      ...(src === 'config' ? [] : builtinSchedule(slot.template)),
      ...(src === 'builtin' ? [] : scheduleFromConfig(config)),
    ];
    slot.schedule.setQueries(queries, Date.now());
    slot.decorations = undefined;
  }

  private async decorationsOf(slot: Slot, host: SimulatedHost): Promise<Record<string, string>> {
    if (slot.decorations !== undefined) return slot.decorations;
    const out: Record<string, string> = {};
    const d = host.lastConfig?.decorators;
    for (const sql of [...(d?.load ?? []), ...(d?.always ?? [])]) {
      if (typeof sql !== 'string') continue;
      const rows = await host.runLocal(sql);
      const first = rows?.[0];
      if (first !== undefined) Object.assign(out, first);
    }
    slot.decorations = out;
    return out;
  }

  private async configTask(slot: Slot): Promise<void> {
    const host = slot.host;
    if (host === undefined) return;
    await host.config();
    this.refreshSchedule(slot);
    this.schedule(slot, 'config', this.intervalMs(slot, 'config'));
  }

  private async distributedTask(slot: Slot): Promise<void> {
    const host = slot.host;
    if (host === undefined) return;
    const report = await host.runDistributedOnce();
    if (report.accelerate !== undefined) slot.accelUntil = Date.now() + report.accelerate * 1000;
    this.schedule(slot, 'distributed', this.intervalMs(slot, 'distributed'));
  }

  private async logTask(slot: Slot): Promise<void> {
    const host = slot.host;
    const schedule = slot.schedule;
    if (host === undefined || schedule === undefined) return;
    const now = Date.now();
    const decorations = await this.decorationsOf(slot, host);
    const common = {
      hostIdentifier: host.hostIdentifier,
      unixTime: Math.floor(now / 1000),
      version: host.version,
      ...(Object.keys(decorations).length > 0 ? { decorations } : {}),
    };
    const lines = await schedule.collect((sql) => host.runLocal(sql), common, now);
    for (const l of lines) host.logResult(l);
    slot.pendingResults += lines.length;
    if (host.bufferedLogLines > 0) {
      const report = await host.flushLogs();
      // Lines count once the server accepted their request (a failed batch stays buffered and is re-sent).
      if (report.results?.ok === true) {
        this.counts.resultLines += slot.pendingResults;
        slot.pendingResults = 0;
      }
      if (report.statuses?.ok === true) {
        this.counts.statusLines += slot.pendingStatuses;
        slot.pendingStatuses = 0;
      }
    }
    this.schedule(slot, 'log', this.intervalMs(slot, 'log'));
  }

  private async carveTask(slot: Slot): Promise<void> {
    const host = slot.host;
    if (host === undefined) return;
    const r = await host.carve(randomBytes(this.options.carveBytes));
    if (r.ok) this.counts.carvesOk++;
    else {
      this.counts.carvesFailed++;
      this.warn(`carve failed: ${r.error ?? 'unknown'}`);
    }
  }

  private armCarves(): void {
    const perHour = this.options.carvesPerHour;
    if (perHour <= 0 || !this.running) return;
    const meanMs = 3_600_000 / perHour;
    // Exponential gaps: carves are rare, independent events.
    const gap = Math.min(meanMs * 5, -Math.log(1 - Math.random()) * meanMs);
    this.carveTimer = setTimeout(() => {
      this.carveTimer = undefined;
      const candidates = this.slots.length;
      for (let tries = 0; tries < 20 && candidates > 0; tries++) {
        const slot = this.slots[Math.floor(Math.random() * candidates)];
        if (slot?.started === true) {
          this.schedule(slot, 'carve', 0);
          this.arm();
          break;
        }
      }
      this.armCarves();
    }, gap);
    this.carveTimer.unref();
  }

  /** Host counters so far, without closing a summary interval (for waiting on progress). */
  progress(): { target: number; started: number; enrolled: number; resumed: number; enrollFailures: number } {
    const c = this.counts;
    return { target: this.slots.length, started: c.started, enrolled: c.enrolled, resumed: c.resumed, enrollFailures: c.enrollFailures };
  }

  /** Figures for the interval since the previous snapshot (and run totals). */
  snapshot(): FleetSnapshot {
    const now = Date.now();
    const intervalMs = Math.max(1, now - this.lastSnapshotAt);
    this.lastSnapshotAt = now;
    const { table, lastErrors } = this.stats.rotate();
    let requests = 0;
    let errors = 0;
    for (const e of ENDPOINTS) {
      requests += table[e].requests;
      errors += table[e].errors + table[e].transport;
    }
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const h = this.httpStats;
    const http = { connects: h.connects - this.lastHttp.connects, resends: h.resends - this.lastHttp.resends, timeouts: h.timeouts - this.lastHttp.timeouts };
    this.lastHttp = { connects: h.connects, resends: h.resends, timeouts: h.timeouts };
    const poolWait = this.pool?.queueMs ?? 0;
    const lag = this.lag.toJSON();
    this.lag = new Histogram();
    const answers = this.answers;
    this.answers = emptyAnswers();
    const warnings = this.warnings;
    this.warnings = { count: 0, last: undefined };
    let withKey = 0;
    for (const s of this.slots) if (s.host !== undefined && s.host.nodeKey !== '') withKey++;
    const snap: FleetSnapshot = {
      at: now,
      elapsedMs: now - this.startedAt,
      intervalMs,
      hosts: {
        target: this.slots.length, started: this.counts.started, enrolled: this.counts.enrolled, resumed: this.counts.resumed,
        enrollFailures: this.counts.enrollFailures, withKey,
      },
      requests,
      rps: (requests * 1000) / intervalMs,
      errors,
      endpoints: endpointTableData(table),
      totals: endpointTableData(this.stats.total),
      answers,
      liveAnswers: Object.fromEntries(this.liveAnswers),
      logLines: { result: this.counts.resultLines, status: this.counts.statusLines },
      carves: { ok: this.counts.carvesOk, failed: this.counts.carvesFailed },
      lag,
      inflight: this.inflight,
      poolWaitMs: poolWait - this.lastPoolWait,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / intervalMs) * 100,
      rssMiB: Math.round(process.memoryUsage.rss() / 1024 / 102.4) / 10,
      connects: http.connects,
      resends: http.resends,
      timeouts: http.timeouts,
      warnings,
      lastErrors: Object.fromEntries(lastErrors),
    };
    this.lastPoolWait = poolWait;
    return snap;
  }

  /**
   * Stop: no new tasks, retry sleeps aborted, in-flight requests get `drainMs` to finish, then
   * every connection is closed and node keys are saved. Returns the last interval's snapshot.
   */
  stop(): Promise<FleetSnapshot> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<FleetSnapshot> {
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.carveTimer !== undefined) clearTimeout(this.carveTimer);
    if (this.keyTimer !== undefined) clearInterval(this.keyTimer);
    this.timer = undefined;
    this.heap.clear();
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.reject(new Error('simulator stopping'));
    }
    this.sleepers.clear();
    if (this.active.size > 0) {
      const drained = Promise.allSettled([...this.active]);
      let guard: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => { guard = setTimeout(resolve, this.options.drainMs); })]);
      if (guard !== undefined) clearTimeout(guard);
    }
    for (const s of this.slots) {
      this.recordKey(s);
      if (this.pool === undefined) s.host?.http.close();
    }
    this.pool?.close();
    // Cut connections fail what was still in flight; let those settle before the final figures.
    await Promise.allSettled([...this.active]);
    this.options.keyStore.save();
    return this.snapshot();
  }
}
