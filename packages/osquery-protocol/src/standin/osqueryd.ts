/**
 * `OsquerydStandin`: behaves towards a server exactly like osqueryd (5.23.1 by default, older
 * versions by option) on the wire — enroll, config, logger, distributed read/write and carving with
 * osquery's bodies, key orders, headers, retry loops, re-enrollment inside retries and version gates
 * (osquery-protocol.md §1–§7). Used by server integration tests, the load simulator and agent tests.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { toBoolean, toInteger, toText } from '../coerce.js';
import { OSQUERY_ENDPOINTS } from '../endpoints.js';
import type { OsqueryConfig } from '../wire.js';
import { hostDetailsOf, makeHostProfile, type HostProfile, type HostTables, type TableRow } from './host-templates.js';
import { OsqueryHttpClient, type HttpClientStats } from './http.js';
import { parseOsqueryResponse, RawJson, toOsqueryJson, type JsonObject, type JsonValue } from './json.js';
import { statusLine, type LogLine } from './log-lines.js';
import { createDefaultQueryEngine, type QueryAnswer, type QueryEngine, type QueryStatsWire } from './query-engine.js';
import { DEFAULT_OSQUERY_VERSION, versionFeatures, type VersionFeatures } from './version.js';

/** Endpoint paths (`--enroll_tls_endpoint` …); defaults are Mimir's (endpoints.ts). */
export interface StandinEndpoints {
  enroll: string;
  config: string;
  log: string;
  distributedRead: string;
  distributedWrite: string;
  carveBegin: string;
  carveBlock: string;
}

/** `--host_identifier` modes (§7.1); `{ value }` is `specified` with `--specified_identifier`. */
export type HostIdentifierMode = 'hostname' | 'uuid' | 'instance' | 'ephemeral';

export type SleepFn = (ms: number) => Promise<void>;

export interface OsquerydStandinOptions {
  /** `--tls_hostname`: host or host:port. */
  tlsHostname: string;
  /** `--tls_server_certs`: PEM CA bundle (Node's default roots when absent). */
  ca?: string | Buffer;
  /** Contents of `--enroll_secret_path` / `--enroll_secret_env` ("" when none). */
  enrollSecret?: string;
  /** `--tls_enroll_override` (default `enroll_secret`): the enroll body key of the secret. */
  enrollSecretKey?: string;
  /** Default `uuid` (the profile's hardware UUID). osquery's own default is `hostname`. */
  hostIdentifier?: HostIdentifierMode | { value: string };
  /** osquery version imitated (default 5.23.1). */
  version?: string;
  /** Host identity and tables (default: a random ubuntu host). */
  profile?: HostProfile;
  endpoints?: Partial<StandinEndpoints>;
  /** `--logger_tls_compress`. */
  loggerCompress?: boolean;
  /** `--tls_accept_gzip` (≥ 5.21). */
  acceptGzip?: boolean;
  /** `--tls_client_cert` / `--tls_client_key` (PEM contents). */
  clientCert?: string | Buffer;
  clientKey?: string | Buffer;
  /** `--disable_enrollment`: never enroll, send empty node keys (TLS client-auth deployments). */
  disableEnrollment?: boolean;
  /** `--disable_reenrollment`: `node_invalid` does not clear the key. */
  disableReenrollment?: boolean;
  /** `--enroll_always`: drop any saved key when `start()` runs. */
  enrollAlways?: boolean;
  /** Hidden `--tls_secret_always`: append `?<enroll override>=<secret>` (not URL-encoded) to every URI. */
  tlsSecretAlways?: boolean;
  /** A node key saved from an earlier run (osquery keeps it in RocksDB). */
  nodeKey?: string;
  /** `--tls_enroll_max_attempts` (12; 0 = infinite). */
  enrollMaxAttempts?: number;
  /** `--tls_enroll_max_interval` in seconds (600). */
  enrollMaxIntervalSec?: number;
  /** `--config_tls_max_attempts` (3). */
  configMaxAttempts?: number;
  /** `--distributed_tls_max_attempts` (3). */
  distributedMaxAttempts?: number;
  /** `--carver_block_size` (8192). */
  carverBlockSize?: number;
  /** `--logger_tls_max_lines` (1024). */
  loggerMaxLines?: number;
  /** `--logger_tls_max_linesize` (1 MiB). */
  loggerMaxLinesize?: number;
  /** `--logger_tls_backoff_max` in seconds (3600; since 5.12). */
  loggerBackoffMaxSec?: number;
  /** `--tls_disable_status_log` (since 5.3): status batches are dropped as if sent. */
  tlsDisableStatusLog?: boolean;
  /** `--distributed_interval` in seconds (60; osquery's default). */
  distributedIntervalSec?: number;
  /** `--config_refresh` in seconds (0 = fetch once). */
  configRefreshSec?: number;
  /** `--config_accelerated_refresh` in seconds (300). */
  configAcceleratedRefreshSec?: number;
  /** `--logger_tls_period` in seconds (4). */
  loggerPeriodSec?: number;
  /** Which plugins `start()` runs (all by default). */
  plugins?: { config?: boolean; logger?: boolean; distributed?: boolean };
  /** Per-request timeout (osquery: fixed 16 s). */
  timeoutMs?: number;
  /** `--tls_session_reuse` (true). */
  sessionReuse?: boolean;
  /** Shared HTTP counters (e.g. one object for a whole simulated fleet). */
  httpStats?: HttpClientStats;
  /** Sleep between retry attempts; inject `async () => {}` to make tests instant. */
  sleep?: SleepFn;
  /** Clock in ms (default Date.now): log timestamps, accelerate window, uptime. */
  now?: () => number;
  /** Answers distributed and discovery queries (default: createDefaultQueryEngine over the profile). */
  queryEngine?: QueryEngine;
  /** SQL texts treated as denylisted (status 1, "distributed query is denylisted", stats {}). */
  denylist?: Iterable<string>;
  /** Decorations added to status lines built by `logStatus`. */
  decorations?: Record<string, string>;
  /** Receives the messages osquery would print (warnings, failures). */
  onLog?: (severity: number, message: string) => void;
}

/** Outcome of a config/logger/distributed request after osquery's checks (§1.5). */
export type CallResult =
  | { ok: true; body: JsonObject; status: number; attempts: number }
  | { ok: false; error: string; status?: number; attempts: number };

export type EnrollResult = { ok: true; nodeKey: string; attempts: number } | { ok: false; error: string; attempts: number };

export interface DistributedQueryResult {
  id: string;
  rows: readonly TableRow[];
  /** 0 = success, 1 = failure. */
  status: number;
  message: string;
  /** `{}` on the wire when absent (not measured). */
  stats?: QueryStatsWire;
}

export interface DistributedRunReport {
  read: CallResult;
  /** The read batch passed validation (and discovery). */
  accepted: boolean;
  /** Why the batch was dropped, when it was. */
  rejected?: string;
  /** Query ids executed this cycle, in order. */
  executed: string[];
  /** Query ids skipped by discovery (absent from the write). */
  skipped: string[];
  results: DistributedQueryResult[];
  /** Absent when there was nothing to write. */
  write?: CallResult;
  /** Valid integer `accelerate` received this cycle. */
  accelerate?: number;
  /** Seconds until the next check-in: 5 inside an accelerate window, else the distributed interval. */
  nextIntervalSec: number;
}

export interface CarveOptions {
  /** Default `--carver_block_size` (8192). */
  blockSize?: number;
  /** carve_guid; default a random UUID. */
  carveId?: string;
  /** request_id; default a random UUID (osquery ≥ 4.7). */
  requestId?: string;
}

export interface CarveReport {
  ok: boolean;
  error?: string;
  carveId: string;
  requestId: string;
  sessionId?: string;
  blockCount: number;
  blockSize: number;
  /** Block ids delivered. */
  blocksSent: number[];
  /** Block ids that failed (pre-5.22: skipped; since 5.22 the carve aborts at the first). */
  blocksFailed: number[];
}

export interface LogFlushReport {
  results?: CallResult;
  statuses?: CallResult;
  /** Lines dropped for exceeding `--logger_tls_max_linesize`. */
  droppedOversize: number;
  /** Lines still buffered after the flush. */
  remaining: number;
  /** Seconds until the next flush (period, or period·n² backoff since 5.12). */
  nextFlushSec: number;
}

export interface StandinCounters {
  enrollRequests: number;
  enrollments: number;
  invalidNodeKey: number;
  configFetches: number;
  distributedReads: number;
  distributedWrites: number;
  logRequests: number;
  carveRequests: number;
}

interface BufferedLine {
  type: 'result' | 'status';
  text: string;
  /** The text is already compact osquery JSON (sent verbatim); otherwise it is parsed and re-serialized. */
  exact: boolean;
}

const defaultSleep: SleepFn = (ms) => delay(ms).then(() => undefined);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Validate a distributed map: every key non-empty, every value a non-empty string (O-dist). */
function stringMap(v: unknown, what: string): Map<string, string> | string {
  if (v === undefined) return new Map();
  if (!isObject(v)) return `Distributed ${what} is not an object`;
  const out = new Map<string, string>();
  for (const [k, q] of Object.entries(v)) {
    if (k === '' || typeof q !== 'string' || q === '') return `Distributed ${what === 'queries' ? 'query' : 'discovery query'} is not a string`;
    out.set(k, q);
  }
  return out;
}

export class OsquerydStandin {
  readonly version: string;
  readonly features: VersionFeatures;
  readonly profile: HostProfile;
  readonly http: OsqueryHttpClient;
  readonly endpoints: StandinEndpoints;
  readonly counters: StandinCounters = {
    enrollRequests: 0, enrollments: 0, invalidNodeKey: 0, configFetches: 0,
    distributedReads: 0, distributedWrites: 0, logRequests: 0, carveRequests: 0,
  };
  /** The last config accepted (§3.1: the whole response object). */
  lastConfig: OsqueryConfig | undefined;

  private readonly opts: OsquerydStandinOptions;
  private readonly sleep: SleepFn;
  private readonly now: () => number;
  private readonly engine: QueryEngine;
  private readonly denylist: Set<string>;
  private readonly ephemeralId = randomUUID();
  private readonly startedAt: number;
  private key: string;
  private enrolling: Promise<string> | null = null;
  private configHash = '';
  private readonly pending = new Map<string, DistributedQueryResult>();
  private accelerateUntil = 0;
  private logBuffer: BufferedLine[] = [];
  private logFailures = 0;
  private distributedInterval: number;
  private loggerPeriod: number;
  private loggerMaxLines: number;
  private loggerCompress: boolean;
  private running = false;
  private abort: AbortController | null = null;
  private loops: Promise<void>[] = [];

  constructor(options: OsquerydStandinOptions) {
    this.opts = options;
    this.version = options.version ?? DEFAULT_OSQUERY_VERSION;
    this.features = versionFeatures(this.version);
    this.profile = options.profile ?? makeHostProfile('ubuntu', randomUUID(), { version: this.version });
    this.endpoints = { ...OSQUERY_ENDPOINTS, ...options.endpoints };
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.startedAt = Math.floor(this.now() / 1000);
    this.key = options.nodeKey ?? '';
    this.denylist = new Set(options.denylist ?? []);
    this.distributedInterval = options.distributedIntervalSec ?? 60;
    this.loggerPeriod = options.loggerPeriodSec ?? 4;
    this.loggerMaxLines = options.loggerMaxLines ?? 1024;
    this.loggerCompress = options.loggerCompress ?? false;
    const httpOptions: ConstructorParameters<typeof OsqueryHttpClient>[0] = { tlsHostname: options.tlsHostname, version: this.version };
    if (options.ca !== undefined) httpOptions.ca = options.ca;
    if (options.clientCert !== undefined) httpOptions.clientCert = options.clientCert;
    if (options.clientKey !== undefined) httpOptions.clientKey = options.clientKey;
    if (options.acceptGzip !== undefined) httpOptions.acceptGzip = options.acceptGzip;
    if (options.timeoutMs !== undefined) httpOptions.timeoutMs = options.timeoutMs;
    if (options.sessionReuse !== undefined) httpOptions.sessionReuse = options.sessionReuse;
    if (options.httpStats !== undefined) httpOptions.stats = options.httpStats;
    this.http = new OsqueryHttpClient(httpOptions);
    this.engine = options.queryEngine ?? createDefaultQueryEngine(this.profile, {
      config: () => this.lastConfig,
      now: this.now,
      osqueryInfo: () => this.osqueryInfoOverrides(),
    });
  }

  // ---------------------------------------------------------------- identity

  /** The stored node key ("" when none). */
  get nodeKey(): string {
    return this.key;
  }

  /** Replace the stored node key (e.g. simulate a wiped database with ""). */
  setNodeKey(key: string): void {
    this.key = key;
  }

  /** Value sent as enroll `host_identifier` and log `hostIdentifier` (§7.1). */
  get hostIdentifier(): string {
    const mode = this.opts.hostIdentifier ?? 'uuid';
    if (typeof mode === 'object') return mode.value === '' ? this.profile.hostname : mode.value;
    switch (mode) {
      case 'uuid':
        return this.profile.uuid;
      case 'hostname':
        return this.profile.hostname;
      case 'instance':
        return this.profile.instanceId;
      case 'ephemeral':
        return this.ephemeralId;
    }
  }

  get enrollSecretKey(): string {
    return this.opts.enrollSecretKey ?? 'enroll_secret';
  }

  private osqueryInfoOverrides(): TableRow {
    return {
      config_hash: this.configHash,
      config_valid: this.configHash === '' ? '0' : '1',
      start_time: String(this.startedAt),
      version: this.version,
    };
  }

  /** The tables enroll sends, with osquery_info reflecting this process (version, start_time, config state). */
  hostTables(): HostTables {
    const t = this.profile.tables;
    const out: HostTables = {
      os_version: t.os_version,
      osquery_info: { ...t.osquery_info, ...this.osqueryInfoOverrides() },
      system_info: t.system_info,
    };
    if (t.platform_info) out.platform_info = t.platform_info;
    return out;
  }

  /** Full URI path for an endpoint, with the hidden `--tls_secret_always` query string. */
  uri(path: string): string {
    if (this.opts.tlsSecretAlways !== true) return path;
    return `${path}${path.includes('?') ? '&' : '?'}${this.enrollSecretKey}=${this.opts.enrollSecret ?? ''}`;
  }

  private log(severity: number, message: string): void {
    this.opts.onLog?.(severity, message);
  }

  // ---------------------------------------------------------------- enroll

  /** The enroll body in emitted key order (§2.1). */
  enrollBody(): string {
    const details = new Map<string, JsonValue>();
    for (const [name, row] of Object.entries(hostDetailsOf(this.hostTables()))) details.set(name, new Map(Object.entries(row)));
    return toOsqueryJson(new Map<string, JsonValue>([
      [this.enrollSecretKey, this.opts.enrollSecret ?? ''],
      ['host_identifier', this.hostIdentifier],
      ['platform_type', String(this.profile.platformMask)],
      ['host_details', details],
    ]));
  }

  private async enrollOnce(): Promise<{ ok: true; nodeKey: string } | { ok: false; error: string }> {
    this.counters.enrollRequests++;
    let body: Buffer;
    try {
      body = (await this.http.request({ path: this.uri(this.endpoints.enroll), body: this.enrollBody() })).body;
    } catch (e) {
      return { ok: false, error: `Request error: ${errorText(e)}` };
    }
    const parsed = parseOsqueryResponse(body);
    if (!parsed.ok) return parsed;
    // node_invalid and error are ignored on enroll: only a non-empty string key counts (§2.2).
    const v = parsed.value;
    const key = Object.hasOwn(v, 'node_key') ? v['node_key'] : v['id'];
    if (typeof key !== 'string' || key === '') return { ok: false, error: 'Enrollment failed: no node key in the response' };
    return { ok: true, nodeKey: key };
  }

  /**
   * Run osquery's enroll loop: up to `--tls_enroll_max_attempts` requests, sleeping
   * min(n², `--tls_enroll_max_interval`) s after failure n. Stores the key on success.
   */
  async enroll(): Promise<EnrollResult> {
    const max = this.opts.enrollMaxAttempts ?? 12;
    const maxInterval = this.opts.enrollMaxIntervalSec ?? 600;
    let error = '';
    for (let i = 1; max === 0 || i <= max; i++) {
      const r = await this.enrollOnce();
      if (r.ok) {
        this.key = r.nodeKey;
        this.counters.enrollments++;
        return { ok: true, nodeKey: r.nodeKey, attempts: i };
      }
      error = r.error;
      if (i === max) return { ok: false, error, attempts: i };
      this.log(1, `Failed enrollment request to ${this.endpoints.enroll} (${error}) retrying...`);
      await this.sleep(Math.min(i * i, maxInterval) * 1000);
    }
    return { ok: false, error, attempts: max };
  }

  /**
   * osquery's `getNodeKey`: the stored key, else a (serialized) enroll cycle; "" when enrollment is
   * disabled or failed.
   */
  async getNodeKey(): Promise<string> {
    if (this.opts.disableEnrollment === true) return '';
    if (this.key !== '') return this.key;
    this.enrolling ??= this.enroll()
      .then((r) => (r.ok ? r.nodeKey : ''))
      .finally(() => {
        this.enrolling = null;
      });
    return this.enrolling;
  }

  // ---------------------------------------------------------------- TLSRequestHelper

  private async goOnce(path: string, build: (nodeKey: string) => { body: string; compress?: boolean }): Promise<CallResult> {
    const nodeKey = await this.getNodeKey();
    const { body, compress } = build(nodeKey);
    let status: number;
    let raw: Buffer;
    try {
      const res = await this.http.request({ path: this.uri(path), body, nodeKey, compress: compress ?? false });
      status = res.status;
      raw = res.body;
    } catch (e) {
      return { ok: false, error: `Request error: ${errorText(e)}`, attempts: 1 };
    }
    const parsed = parseOsqueryResponse(raw);
    if (!parsed.ok) return { ok: false, error: parsed.error, status, attempts: 1 };
    const v = parsed.value;
    if (v['node_invalid'] === true) {
      this.counters.invalidNodeKey++;
      if (this.opts.disableReenrollment !== true) this.key = '';
      const detail = Object.hasOwn(v, 'error') ? `: ${toText(v['error'])}` : '';
      return { ok: false, error: `Request failed: Invalid node key${detail}`, status, attempts: 1 };
    }
    if (Object.hasOwn(v, 'error')) return { ok: false, error: `Request failed: ${toText(v['error'])}`, status, attempts: 1 };
    return { ok: true, body: v, status, attempts: 1 };
  }

  /**
   * O-util `go`: `attempts` tries, sleeping i² s after failure i; the node key is re-read (and
   * re-enrolled if cleared by `node_invalid`) at every attempt (§1.6).
   */
  private async go(path: string, attempts: number, build: (nodeKey: string) => { body: string; compress?: boolean }): Promise<CallResult> {
    const max = Math.max(1, attempts);
    for (let i = 1; ; i++) {
      const r = await this.goOnce(path, build);
      r.attempts = i;
      if (r.ok || i >= max) return r;
      this.log(1, `Request to ${path} failed (${r.error}), attempt ${i} of ${max}`);
      await this.sleep(i * i * 1000);
    }
  }

  private static nodeKeyBody(nodeKey: string): { body: string } {
    return { body: toOsqueryJson(new Map([['node_key', nodeKey]])) };
  }

  // ---------------------------------------------------------------- config

  /** Fetch the config (`--config_tls_max_attempts`); on success it becomes `lastConfig` (§3). */
  async config(): Promise<CallResult> {
    this.counters.configFetches++;
    const r = await this.go(this.endpoints.config, this.opts.configMaxAttempts ?? 3, (k) => OsquerydStandin.nodeKeyBody(k));
    if (r.ok) {
      const text = JSON.stringify(r.body);
      const hash = createHash('sha1').update(text).digest('hex');
      if (hash !== this.configHash) {
        this.configHash = hash;
        this.lastConfig = r.body;
        this.applyOptions(r.body['options']);
      }
    } else {
      this.log(1, `Config refresh failed: ${r.error}`);
    }
    return r;
  }

  /** Normal (non CLI-only) flags from config `options` that the stand-in honours (§3.2). */
  private applyOptions(options: unknown): void {
    if (!isObject(options)) return;
    const int = (k: string): number | undefined => toInteger(options[k]);
    const di = int('distributed_interval');
    if (di !== undefined && di > 0) this.distributedInterval = di;
    const lp = int('logger_tls_period');
    if (lp !== undefined && lp > 0) this.loggerPeriod = lp;
    const ml = int('logger_tls_max_lines');
    if (ml !== undefined && ml > 0) this.loggerMaxLines = ml;
    const lc = toBoolean(options['logger_tls_compress']);
    if (lc !== undefined) this.loggerCompress = lc;
  }

  // ---------------------------------------------------------------- logger

  /** One logger request (1 attempt, as per flush). Key order differs with compression (§1.2). */
  async sendLogs(logType: 'result' | 'status', data: readonly JsonValue[]): Promise<CallResult> {
    this.counters.logRequests++;
    const compress = this.loggerCompress;
    return this.go(this.endpoints.log, 1, (nodeKey) => ({
      compress,
      body: toOsqueryJson(compress
        ? new Map<string, JsonValue>([['node_key', nodeKey], ['log_type', logType], ['data', data]])
        : new Map<string, JsonValue>([['data', data], ['log_type', logType], ['node_key', nodeKey]])),
    }));
  }

  /** Buffer a result line: a builder output from log-lines.ts, or a JSON text (re-serialized when sent). */
  logResult(line: JsonValue): void {
    this.logBuffer.push(typeof line === 'string'
      ? { type: 'result', text: line, exact: false }
      : { type: 'result', text: toOsqueryJson(line), exact: true });
  }

  /** Buffer a status line built for this host and version (§4.3). */
  logStatus(severity: number, message: string, where: { filename?: string; line?: number } = {}): LogLine {
    const line = statusLine({
      hostIdentifier: this.hostIdentifier,
      unixTime: Math.floor(this.now() / 1000),
      severity,
      filename: where.filename ?? 'standin.cpp',
      line: where.line ?? 1,
      message,
      version: this.version,
      ...(this.opts.decorations ? { decorations: this.opts.decorations } : {}),
    });
    this.logBuffer.push({ type: 'status', text: toOsqueryJson(line), exact: true });
    return line;
  }

  /** Lines waiting to be sent. */
  get bufferedLogLines(): number {
    return this.logBuffer.length;
  }

  /** Seconds until the next flush: the period, or period·n² (capped) after n failures since 5.12. */
  get nextLogFlushSec(): number {
    if (!this.features.loggerBackoff || this.logFailures === 0) return this.loggerPeriod;
    return Math.min(this.loggerPeriod * this.logFailures ** 2, this.opts.loggerBackoffMaxSec ?? 3600);
  }

  /**
   * One forwarder cycle (O-buf `check`): the oldest ≤ max_lines buffered lines, oversize lines
   * dropped, invalid JSON skipped, one `result` and one `status` request; delivered lines leave the
   * buffer, failed ones stay for the next cycle.
   */
  async flushLogs(): Promise<LogFlushReport> {
    const maxSize = this.opts.loggerMaxLinesize ?? 1024 * 1024;
    const batch = this.logBuffer.slice(0, this.loggerMaxLines);
    const report: LogFlushReport = { droppedOversize: 0, remaining: 0, nextFlushSec: 0 };
    const done = new Set<BufferedLine>();
    let failed = false;
    for (const type of ['result', 'status'] as const) {
      const lines = batch.filter((l) => l.type === type);
      if (lines.length === 0) continue;
      if (type === 'status' && this.opts.tlsDisableStatusLog === true && this.features.disableStatusLogFlag) {
        for (const l of lines) done.add(l);
        continue;
      }
      const data: JsonValue[] = [];
      for (const l of lines) {
        if (Buffer.byteLength(l.text) > maxSize) {
          report.droppedOversize++;
          this.log(1, `Line exceeds TLS logger max: ${Buffer.byteLength(l.text)}`);
          continue;
        }
        if (l.exact) {
          data.push(new RawJson(l.text));
          continue;
        }
        try {
          data.push(JSON.parse(l.text) as JsonValue);
        } catch {
          // osquery silently skips lines that are not JSON.
        }
      }
      const r = await this.sendLogs(type, data);
      if (type === 'result') report.results = r;
      else report.statuses = r;
      if (r.ok) for (const l of lines) done.add(l);
      else failed = true;
    }
    this.logBuffer = this.logBuffer.filter((l) => !done.has(l));
    this.logFailures = failed ? this.logFailures + 1 : 0;
    report.remaining = this.logBuffer.length;
    report.nextFlushSec = this.nextLogFlushSec;
    return report;
  }

  // ---------------------------------------------------------------- distributed

  /** Seconds until the next distributed check-in (5 inside an `accelerate` window). */
  get distributedIntervalSec(): number {
    return this.now() < this.accelerateUntil ? 5 : this.distributedInterval;
  }

  /** `POST distributed/read` with `--distributed_tls_max_attempts`. */
  async distributedRead(): Promise<CallResult> {
    this.counters.distributedReads++;
    return this.go(this.endpoints.distributedRead, this.opts.distributedMaxAttempts ?? 3, (k) => OsquerydStandin.nodeKeyBody(k));
  }

  /** The distributed write body for this version (§5.2). */
  distributedWriteBody(results: readonly DistributedQueryResult[], nodeKey: string): string {
    const f = this.features;
    const queries = new Map<string, JsonValue>();
    const statuses = new Map<string, JsonValue>();
    const messages = new Map<string, JsonValue>();
    const stats = new Map<string, JsonValue>();
    for (const r of results) {
      queries.set(r.id, r.rows.length === 0 && f.emptyResultsAsString ? '' : r.rows.map((row) => new Map(Object.entries(row))));
      statuses.set(r.id, f.numericStatuses ? r.status : String(r.status));
      messages.set(r.id, r.message);
      stats.set(r.id, r.stats
        ? new Map<string, JsonValue>([
          ['wall_time_ms', r.stats.wall_time_ms], ['user_time', r.stats.user_time],
          ['system_time', r.stats.system_time], ['memory', r.stats.memory],
        ])
        : new Map());
    }
    const body = new Map<string, JsonValue>([['queries', queries], ['statuses', statuses]]);
    if (f.distributedMessages) body.set('messages', messages);
    if (f.distributedStats) body.set('stats', stats);
    body.set('node_key', nodeKey);
    return toOsqueryJson(body);
  }

  /** `POST distributed/write` with `--distributed_tls_max_attempts`. */
  async distributedWrite(results: readonly DistributedQueryResult[]): Promise<CallResult> {
    this.counters.distributedWrites++;
    return this.go(this.endpoints.distributedWrite, this.opts.distributedMaxAttempts ?? 3, (k) => ({
      body: this.distributedWriteBody(results, k),
    }));
  }

  /** Run one SQL text through the engine, as osquery runs a distributed query. */
  async runQuery(id: string, sql: string): Promise<DistributedQueryResult> {
    if (this.denylist.has(sql)) return { id, rows: [], status: 1, message: 'distributed query is denylisted' };
    const started = performance.now();
    let answer: QueryAnswer;
    try {
      answer = await this.engine(sql);
    } catch (e) {
      answer = { status: 1, message: errorText(e), rows: [] };
    }
    const failed = answer.status !== 0;
    const stats: QueryStatsWire = answer.stats ?? {
      wall_time_ms: Math.max(0, Math.round(performance.now() - started)), user_time: 0, system_time: 0, memory: 0,
    };
    return { id, rows: failed ? [] : answer.rows, status: failed ? 1 : 0, message: failed ? (answer.message ?? '') : '', stats };
  }

  /**
   * One distributed cycle: read → validate (a bad entry drops the batch) → discovery (5.8+ per-query
   * semantics, legacy before) → run → one write with everything completed (plus results a failed
   * write left behind) (§5).
   */
  async runDistributedOnce(): Promise<DistributedRunReport> {
    const read = await this.distributedRead();
    const report: DistributedRunReport = { read, accepted: false, executed: [], skipped: [], results: [], nextIntervalSec: 0 };
    if (read.ok) await this.acceptWork(read.body, report);
    if (this.pending.size > 0) {
      const write = await this.distributedWrite([...this.pending.values()]);
      report.write = write;
      if (write.ok) this.pending.clear();
    }
    report.nextIntervalSec = this.distributedIntervalSec;
    return report;
  }

  private async acceptWork(body: JsonObject, report: DistributedRunReport): Promise<void> {
    const queries = stringMap(body['queries'], 'queries');
    if (typeof queries === 'string') {
      report.rejected = queries;
      return;
    }
    const discovery = stringMap(body['discovery'], 'discovery');
    if (typeof discovery === 'string') {
      report.rejected = discovery;
      return;
    }
    const accelerate = body['accelerate'];
    if (typeof accelerate === 'number' && Number.isInteger(accelerate)) {
      report.accelerate = accelerate;
      this.accelerateUntil = this.now() + accelerate * 1000;
    }
    let toRun: string[] = [...queries.keys()];
    if (this.features.perQueryDiscovery) {
      const run: string[] = [];
      for (const id of toRun) {
        const d = discovery.get(id);
        if (d === undefined) {
          run.push(id);
          continue;
        }
        const r = await this.runQuery(`discovery:${id}`, d);
        if (r.status !== 0) {
          report.rejected = `Distributed discovery query ${id} failed: ${r.message}`;
          return;
        }
        if (r.rows.length > 0) run.push(id);
        else report.skipped.push(id);
      }
      toRun = run;
    } else if (discovery.size > 0) {
      // Before 5.8: the queries whose discovery returned rows run; if none did, everything runs.
      const matched = new Set<string>();
      for (const [id, d] of discovery) {
        const r = await this.runQuery(`discovery:${id}`, d);
        if (r.status !== 0) {
          report.rejected = `Distributed discovery query ${id} failed: ${r.message}`;
          return;
        }
        if (r.rows.length > 0) matched.add(id);
      }
      if (matched.size > 0) {
        report.skipped.push(...toRun.filter((id) => !matched.has(id)));
        toRun = toRun.filter((id) => matched.has(id));
      }
    }
    report.accepted = true;
    for (const id of toRun) {
      const sql = queries.get(id) ?? '';
      const r = await this.runQuery(id, sql);
      const result: DistributedQueryResult = this.features.distributedStats || r.stats === undefined ? r : { id: r.id, rows: r.rows, status: r.status, message: r.message };
      report.executed.push(id);
      report.results.push(result);
      this.pending.set(id, result);
    }
  }

  // ---------------------------------------------------------------- carver

  /** O-carve `fireRequest`: 3 attempts since 5.22 (1 before), i² s between; no node_invalid/error processing. */
  private async carveRequest(path: string, body: string): Promise<{ ok: true; body: JsonObject } | { ok: false; error: string }> {
    const attempts = this.features.carveRetries ? 3 : 1;
    let error = '';
    for (let i = 1; i <= attempts; i++) {
      this.counters.carveRequests++;
      const nodeKey = this.opts.disableEnrollment === true ? '' : this.key;
      try {
        const res = await this.http.request({ path: this.uri(path), body, nodeKey });
        const parsed = parseOsqueryResponse(res.body);
        if (parsed.ok) return { ok: true, body: parsed.value };
        error = parsed.error;
      } catch (e) {
        error = `Request error: ${errorText(e)}`;
      }
      if (i < attempts) await this.sleep(i * i * 1000);
    }
    return { ok: false, error };
  }

  /** Upload `data` as one carve: begin, then blocks 0…n-1 strictly in order (§6). */
  async carve(data: Buffer, options: CarveOptions = {}): Promise<CarveReport> {
    const blockSize = options.blockSize ?? this.opts.carverBlockSize ?? 8192;
    const blockCount = Math.ceil(data.length / blockSize);
    const carveId = options.carveId ?? randomUUID();
    const requestId = options.requestId ?? randomUUID();
    const report: CarveReport = { ok: false, carveId, requestId, blockCount, blockSize, blocksSent: [], blocksFailed: [] };
    const nodeKey = await this.getNodeKey();
    const begin = await this.carveRequest(this.endpoints.carveBegin, toOsqueryJson(new Map<string, JsonValue>([
      ['block_count', blockCount], ['block_size', blockSize], ['carve_size', data.length],
      ['carve_id', carveId], ['request_id', requestId], ['node_key', nodeKey],
    ])));
    if (!begin.ok) {
      report.error = `Carve begin failed: ${begin.error}`;
      return report;
    }
    const session = begin.body['session_id'];
    if (typeof session !== 'string' || session === '') {
      report.error = 'Carve begin failed: no session_id in the response';
      return report;
    }
    report.sessionId = session;
    for (let id = 0; id < blockCount; id++) {
      const chunk = data.subarray(id * blockSize, Math.min(data.length, (id + 1) * blockSize));
      const r = await this.carveRequest(this.endpoints.carveBlock, toOsqueryJson(new Map<string, JsonValue>([
        ['block_id', id], ['session_id', session], ['request_id', requestId], ['data', chunk.toString('base64')],
      ])));
      if (r.ok) {
        report.blocksSent.push(id);
        continue;
      }
      report.blocksFailed.push(id);
      if (this.features.carveRetries) {
        report.error = `DATA POST FAILED (block ${id}): ${r.error}`;
        return report;
      }
      // Before 5.22 a failed block was skipped, leaving a hole (osquery/osquery#8733).
    }
    report.ok = report.blocksFailed.length === 0;
    if (!report.ok) report.error = `blocks failed: ${report.blocksFailed.join(',')}`;
    return report;
  }

  // ---------------------------------------------------------------- run loop

  /**
   * Start like osqueryd (O-init order): enroll (config plugin setUp) → config → logger activation
   * (fails without a key, as osquery's catastrophic "Cannot activate tls logger plugin") → periodic
   * logger flushes, distributed check-ins and config refreshes until `stop()`.
   */
  async start(): Promise<void> {
    if (this.running) return;
    const plugins = { config: true, logger: true, distributed: true, ...this.opts.plugins };
    if (this.opts.enrollAlways === true) this.key = '';
    this.running = true;
    const abort = new AbortController();
    this.abort = abort;
    let configOk = true;
    if (plugins.config) {
      await this.getNodeKey();
      configOk = (await this.config()).ok;
    }
    if (plugins.logger && this.opts.disableEnrollment !== true && (await this.getNodeKey()) === '') {
      this.running = false;
      throw new Error('Cannot activate tls logger plugin: No node key, TLS logging disabled.');
    }
    const wait = async (sec: number): Promise<boolean> => {
      try {
        await delay(sec * 1000, undefined, { signal: abort.signal });
        return true;
      } catch {
        return false;
      }
    };
    const loop = (first: boolean, work: () => Promise<unknown>, next: () => number): void => {
      this.loops.push((async () => {
        if (!first && !(await wait(next()))) return;
        while (this.running) {
          try {
            await work();
          } catch (e) {
            this.log(2, errorText(e));
          }
          if (!(await wait(next()))) return;
        }
      })());
    };
    if (plugins.logger) loop(true, () => this.flushLogs(), () => this.nextLogFlushSec);
    if (plugins.distributed) loop(true, () => this.runDistributedOnce(), () => this.distributedIntervalSec);
    const refresh = this.opts.configRefreshSec ?? 0;
    if (plugins.config && refresh > 0) {
      const accelerated = this.opts.configAcceleratedRefreshSec ?? 300;
      loop(false, async () => {
        configOk = (await this.config()).ok;
      }, () => (configOk ? refresh : accelerated));
    }
  }

  /** Stop the loops started by `start()` (in-flight requests complete). */
  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    this.abort = null;
    const loops = this.loops;
    this.loops = [];
    await Promise.allSettled(loops);
  }

  /** Stop and destroy the connection. */
  async close(): Promise<void> {
    await this.stop();
    this.http.close();
  }
}
