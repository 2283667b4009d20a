/**
 * Live queries (issue #4, seed 004; Fleet §1.2, §2.5–2.6 and the pain points in Fleet §4).
 *
 * - Create: targets resolve to host ids once; one `pending` row per (query, host) and one
 *   distributed queue item per (query, host), expiring with the timeout. Offline hosts keep their
 *   item until then and answer when they come back (Fleet #3142, #26540); every online host gets
 *   every active query on its next distributed/read, however many are active (the per-host queue).
 * - Ingest: `result` events from the distributed service (source `live`) are queued and recorded
 *   in batches (one transaction per 200 answers, two statements per answer plus one counter update
 *   per live query). Each answer counts once (re-sent writes are no-ops); rows are stored up to a
 *   per-live-query cap and counted past it (Fleet #14874's 250k cap hid results silently; we say
 *   so with `truncated`). Answers whose event is lost are recovered from distributed_results when
 *   the query expires.
 * - Expiry and retention run on timers; reads also expire a due query on the spot so status never
 *   waits for the timer.
 * - Streaming: subscribers get a wake-up per change and read answers from the database by cursor,
 *   so nothing is buffered per subscriber. With several instances (issue #10) each change is also
 *   announced on the cluster bus, so an operator streaming from instance A sees answers that hosts
 *   posted to B and C; expiry and retention run on the leader only.
 */
import { retentionOverride } from '../settings/retention.js';
import type { DistributedResult } from '@mimir/osquery-protocol';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Cluster } from '../../cluster/cluster.js';
import type { Logger } from '../../logger.js';
import type { AnswerInput, LiveHostStatusValue, LiveQueryPartRow, LiveQueryRow } from '../../storage/repositories/live-queries.repository.js';
import type { Repositories, Store } from '../../storage/store.js';
import type { EcsMapping, ServiceHub, TargetSpec } from '../contracts.js';
import type { DistributedService, QueueItem } from '../distributed.service.js';
import {
  checkEcs, checkSql, checkTargetShape, checkTimeout, fail, type CreateLiveQueryInput, type Issue, type LiveQueryPartInput,
} from './live-input.js';

/** `mimir_live_<id>` for one query, `mimir_live_<id>_<n>` per query of a pack. */
const NAME_RE = /^mimir_live_(\d+)(?:_(\d+))?$/;
export const LIVE_SOURCE = 'live';
const DAY_MS = 86_400_000;
/** Answers per transaction: commits amortised, yet short enough not to starve check-ins. */
const ANSWER_BATCH = 200;
/** Past this backlog new answers wait for the expiry sweep, which reads them from distributed_results. */
const MAX_QUEUED_ANSWERS = 50_000;

interface Answer {
  liveQueryId: number;
  queryIdx: number;
  hostId: number;
  result: Pick<DistributedResult, 'rows' | 'status' | 'message'>;
  now: number;
}

export interface LiveQueryServiceOptions {
  /** Rows stored per live query (config `MIMIR_LIVE_QUERY_MAX_ROWS`, default 1,000,000). */
  maxRows?: number | undefined;
  /** History kept, in days (seed 004: 30). */
  historyDays: number;
  /** How often due queries are expired (ms). */
  expiryEveryMs?: number | undefined;
  /** How often old live queries are deleted (ms). */
  retentionEveryMs?: number | undefined;
}

export interface Actor {
  userId: number | null;
  email: string;
}

export interface LiveCountsView {
  targeted: number;
  responded: number;
  successful: number;
  failed: number;
  pending: number;
  expired: number;
  cancelled: number;
}

export type LiveState = 'running' | 'completed' | 'cancelled';

export interface LiveQueryDetail {
  row: LiveQueryRow;
  parts: LiveQueryPartRow[];
  pendingDelivered: number;
}

export interface Snapshot {
  state: LiveState;
  counts: LiveCountsView;
  rowCount: number;
  truncated: boolean;
  /** No answer will change any more (completed or cancelled). */
  finished: boolean;
}

interface Deps {
  store: Store;
  distributed: DistributedService;
  hub: ServiceHub;
  log: Logger;
  now(): number;
  /** Several instances: change wake-ups cross instances; timers run on the leader. */
  cluster?: Cluster | undefined;
}

export function countsOf(row: LiveQueryRow, parts: readonly LiveQueryPartRow[]): LiveCountsView {
  const c: LiveCountsView = { targeted: row.target_count, responded: 0, successful: 0, failed: 0, pending: 0, expired: 0, cancelled: 0 };
  for (const p of parts) {
    const part = partCounts(row, p);
    c.successful += part.successful;
    c.failed += part.failed;
    c.expired += part.expired;
    c.cancelled += part.cancelled;
    c.pending += part.pending;
  }
  c.responded = c.successful + c.failed;
  return c;
}

export function partCounts(row: LiveQueryRow, p: LiveQueryPartRow): LiveCountsView {
  const done = p.successful + p.failed + p.expired + p.cancelled;
  return {
    targeted: row.target_count,
    responded: p.successful + p.failed,
    successful: p.successful,
    failed: p.failed,
    pending: Math.max(0, row.target_count - done),
    expired: p.expired,
    cancelled: p.cancelled,
  };
}

export function stateOf(row: LiveQueryRow): LiveState {
  if (row.cancelled_at !== null) return 'cancelled';
  return row.finished_at !== null ? 'completed' : 'running';
}

export function parseEcs(text: string): EcsMapping | null {
  const v = JSON.parse(text) as unknown;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.keys(v).length === 0) return null;
  return v as EcsMapping;
}

interface PartsSource {
  parts: LiveQueryPartInput[];
  /** JSON pointer prefix of part `i` in the request, for 422 details. */
  pathOf(i: number): string;
  /** Names get the `_<n>` suffix (a pack or a queries[] list). */
  multi: boolean;
  packName: string;
  /** The saved query's own timeout, used when the request gives none. */
  timeoutSeconds?: number;
}

export class LiveQueryService {
  /** Rows stored per live query; settable until core.settings carries the config value. */
  maxRows: number;
  private readonly historyDays: number;
  private readonly listeners = new Map<number, Set<() => void>>();
  /** Answers waiting to be recorded; drained in batches, one transaction each (group commit). */
  private readonly queue: Answer[] = [];
  private draining: Promise<void> | undefined;
  /** Known result columns per `${liveQueryId}:${idx}`, so most answers skip reading them. */
  private readonly columns = new Map<string, Set<string>>();
  private readonly timers: NodeJS.Timeout[] = [];
  /** Cluster bus subscriptions, dropped on stop. */
  private readonly unsubscribe: Array<() => void> = [];
  private readonly running = new Map<string, Promise<unknown>>();
  private stopped = false;
  private readonly onResult = (hostId: number, result: DistributedResult, source: string): void => {
    const m = NAME_RE.exec(result.id);
    // `unknown`: the queue row was already cleaned up when the answer came (expire-queue job).
    if (m?.[1] === undefined || (source !== LIVE_SOURCE && source !== 'unknown')) return;
    if (this.queue.length >= MAX_QUEUED_ANSWERS) {
      // The answer is already in distributed_results: the expiry sweep records it (see expire()).
      this.deps.log.warn({ hostId, name: result.id }, 'live query answers are arriving faster than they are recorded; deferring to the expiry sweep');
      return;
    }
    this.queue.push({ liveQueryId: Number(m[1]), queryIdx: Number(m[2] ?? 0), hostId, result, now: this.deps.now() });
    this.kick();
  };

  constructor(private readonly deps: Deps, private readonly opts: LiveQueryServiceOptions) {
    this.maxRows = opts.maxRows ?? 1_000_000;
    this.historyDays = opts.historyDays;
  }

  /** Listen for answers and start the expiry and retention timers. */
  start(): void {
    this.deps.distributed.on('result', this.onResult);
    const cluster = this.deps.cluster;
    if (cluster !== undefined) {
      this.unsubscribe.push(
        cluster.on('live.changed', ({ id }) => this.wake(id)),
        cluster.on('resync', () => {
          for (const id of [...this.listeners.keys()]) this.wake(id);
        }),
      );
    }
    this.every('live-expiry', this.opts.expiryEveryMs ?? 5_000, () => this.expireDue());
    this.every('live-retention', this.opts.retentionEveryMs ?? 3_600_000, () => this.purgeOld());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.distributed.off('result', this.onResult);
    for (const off of this.unsubscribe.splice(0)) off();
    for (const t of this.timers) clearInterval(t);
    await this.settled();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Wait until every answer received so far is recorded (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private every(name: string, ms: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => void this.runJob(name, fn), ms);
    t.unref();
    this.timers.push(t);
  }

  /** A job never overlaps itself; failures are logged (same rule as jobs/jobs.ts). */
  private runJob(name: string, fn: () => Promise<unknown>): Promise<unknown> {
    const current = this.running.get(name);
    if (current !== undefined) return current;
    if (this.stopped || this.deps.cluster?.isLeader() === false) return Promise.resolve();
    const p = fn()
      .catch((err: unknown) => this.deps.log.error({ err, job: name }, 'live query job failed'))
      .finally(() => this.running.delete(name));
    this.running.set(name, p);
    return p;
  }

  // ------------------------------------------------------------------ create

  async create(input: CreateLiveQueryInput, actor: Actor, origin?: { rerunOf: number; packId: number | null; packName: string; savedQueryId: number | null }): Promise<number> {
    const now = this.deps.now();
    const issues: Issue[] = [];
    const source = await this.partsOf(input, issues);
    const timeout = checkTimeout(input.timeoutSeconds ?? source.timeoutSeconds, issues);
    checkTargetShape(input.targets, issues);
    const warnings: string[] = [];
    for (const [i, p] of source.parts.entries()) {
      const path = source.pathOf(i);
      warnings.push(...checkSql(this.deps.hub, p.sql, `${path}/sql`, input.targets.platforms, issues));
      checkEcs(p.ecsMapping, `${path}/ecsMapping`, issues);
    }
    if (issues.length > 0) fail('the live query is not valid', issues);
    const hostIds = await this.resolveTargets(input.targets);

    const parts = source.parts;
    const id = await this.deps.store.transaction(async (tx) => {
      const lqId = await tx.liveQueries.insert({
        created_at: now,
        created_by: actor.userId,
        created_by_email: actor.email,
        pack_id: input.packId ?? origin?.packId ?? null,
        pack_name: source.packName !== '' ? source.packName : (origin?.packName ?? ''),
        saved_query_id: input.savedQueryId ?? origin?.savedQueryId ?? null,
        rerun_of: origin?.rerunOf ?? null,
        targets: JSON.stringify(input.targets),
        timeout_seconds: timeout,
        expires_at: now + timeout * 1000,
        target_count: hostIds.length,
        expected: hostIds.length * parts.length,
        warnings: JSON.stringify(warnings),
      });
      await tx.liveQueries.insertParts(
        parts.map((p, idx) => ({
          live_query_id: lqId,
          idx,
          name: p.name ?? (parts.length === 1 ? 'query' : `query_${idx}`),
          dist_name: distName(lqId, idx, source.multi),
          sql: p.sql,
          ecs_mapping: JSON.stringify(p.ecsMapping ?? {}),
        })),
      );
      await tx.liveQueries.insertHosts(lqId, parts.length, hostIds);
      return lqId;
    });

    const items: QueueItem[] = [];
    for (const [idx, p] of parts.entries()) {
      const name = distName(id, idx, source.multi);
      for (const hostId of hostIds) items.push({ hostId, name, sql: p.sql, source: LIVE_SOURCE, expiresAt: now + timeout * 1000 });
    }
    try {
      await this.deps.distributed.enqueue(items, now);
    } catch (err) {
      // The queue lives in its own transaction: undo the live query so nothing half-made stays.
      await this.deps.store.transaction((tx) => tx.liveQueries.deleteLiveQuery(id));
      throw err;
    }
    return id;
  }

  /** Same SQL, targets (resolved again), timeout and ECS mapping: a new live query. */
  async rerun(id: number, actor: Actor): Promise<number> {
    const row = await this.mustFind(id);
    const parts = await this.deps.store.liveQueries.parts(id);
    const queries = parts.map((p) => ({ name: p.name, sql: p.sql, ecsMapping: parseEcs(p.ecs_mapping) ?? undefined }));
    const input: CreateLiveQueryInput = {
      targets: JSON.parse(row.targets) as TargetSpec,
      timeoutSeconds: row.timeout_seconds,
      ...(parts.length === 1 && row.pack_id === null ? { sql: queries[0]?.sql ?? '', ecsMapping: queries[0]?.ecsMapping } : { queries }),
    };
    return this.create(input, actor, { rerunOf: id, packId: row.pack_id, packName: row.pack_name, savedQueryId: row.saved_query_id });
  }

  private async partsOf(input: CreateLiveQueryInput, issues: Issue[]): Promise<PartsSource> {
    const none: PartsSource = { parts: [], pathOf: () => '', multi: false, packName: '' };
    const given = [input.sql, input.savedQueryId, input.packId, input.queries].filter((x) => x !== undefined).length;
    if (given !== 1) {
      issues.push({ path: '/', message: 'give exactly one of sql, savedQueryId, packId, queries' });
      return none;
    }
    if (input.sql !== undefined) return { parts: [{ sql: input.sql, ecsMapping: input.ecsMapping }], pathOf: () => '', multi: false, packName: '' };
    if (input.queries !== undefined) {
      const names = new Set<string>();
      for (const [i, q] of input.queries.entries()) {
        if (q.name === undefined) continue;
        if (names.has(q.name)) issues.push({ path: `/queries/${i}/name`, message: `duplicate query name ${q.name}` });
        names.add(q.name);
      }
      return {
        parts: input.queries.map((q) => ({ name: q.name, sql: q.sql, ecsMapping: q.ecsMapping ?? input.ecsMapping })),
        pathOf: (i) => `/queries/${i}`,
        multi: true,
        packName: '',
      };
    }
    if (input.packId !== undefined) {
      // Seed 004 "Run live queries … Pack": every query of the pack, each with its own ECS mapping.
      const pack = await this.deps.store.packs.findById(input.packId);
      if (pack === undefined) {
        issues.push({ path: '/packId', message: `no pack with id ${input.packId}` });
        return none;
      }
      const queries = await this.deps.store.packs.queries(pack.id);
      if (queries.length === 0) issues.push({ path: '/packId', message: `pack ${pack.name} has no queries` });
      return {
        parts: queries.map((q) => ({ name: q.name, sql: q.sql, ecsMapping: parseEcs(q.ecs_mapping) ?? input.ecsMapping })),
        pathOf: (i) => `/packId/queries/${i}`,
        multi: true,
        packName: pack.name,
      };
    }
    // Seed 004 "Select a saved query": its SQL, ECS mapping and timeout, unless the request overrides them.
    const saved = input.savedQueryId === undefined ? undefined : await this.deps.store.savedQueries.findById(input.savedQueryId);
    if (saved === undefined) {
      issues.push({ path: '/savedQueryId', message: `no saved query with id ${input.savedQueryId ?? ''}` });
      return none;
    }
    return {
      parts: [{ name: saved.name, sql: saved.sql, ecsMapping: input.ecsMapping ?? parseEcs(saved.ecs_mapping) ?? undefined }],
      pathOf: () => '/savedQueryId',
      multi: false,
      packName: '',
      timeoutSeconds: saved.timeout,
    };
  }

  /** Host ids for a target spec, ascending; unknown host ids and empty results are 422. */
  private async resolveTargets(spec: TargetSpec): Promise<number[]> {
    const issues: Issue[] = [];
    const asked = spec.hostIds ?? [];
    if (asked.length > 0) {
      const found = await this.deps.store.liveQueries.existingHostIds(asked);
      let listed = 0;
      for (const [i, h] of asked.entries()) {
        if (found.has(h)) continue;
        if (listed++ < 50) issues.push({ path: `/targets/hostIds/${i}`, message: `no host with id ${h}` });
      }
      if (listed > 50) issues.push({ path: '/targets/hostIds', message: `${listed - 50} more unknown host ids` });
    }
    if (issues.length > 0) fail('some targeted hosts do not exist', issues);
    let ids: number[];
    const resolver = this.deps.hub.targets;
    if (resolver !== undefined) {
      ids = await resolver.resolve(spec);
    } else {
      // The hosts area publishes the full resolver (labels, groups…); until then, resolve what the
      // hosts table alone can answer.
      if ((spec.labelIds ?? []).length > 0) fail('label targets are not available yet', [{ path: '/targets/labelIds', message: 'label targeting needs the hosts area (not available yet)' }]);
      const more = await this.deps.store.liveQueries.hostIdsWhere({ all: spec.all === true, platforms: spec.platforms ?? [], groupIds: spec.groupIds ?? [] });
      ids = [...new Set([...asked, ...more])].sort((a, b) => a - b);
    }
    if (ids.length === 0) fail('no enrolled host matches the targets', [{ path: '/targets', message: 'no enrolled host matches' }]);
    return ids;
  }

  // ------------------------------------------------------------------ ingest

  private kick(): void {
    if (this.draining !== undefined) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, ANSWER_BATCH);
      let changed: Set<number>;
      try {
        changed = await this.deps.store.transaction((tx) => this.record(tx, batch));
      } catch (err) {
        // One bad answer must not take the rest of its batch with it.
        this.deps.log.warn({ err, answers: batch.length }, 'live query answer batch failed; recording one by one');
        changed = new Set();
        // The cache may hold columns of the rolled-back batch.
        this.columns.clear();
        for (const a of batch) {
          try {
            for (const id of await this.deps.store.transaction((tx) => this.record(tx, [a]))) changed.add(id);
          } catch (e) {
            this.deps.log.error({ err: e, hostId: a.hostId, liveQueryId: a.liveQueryId }, 'live query answer not recorded');
          }
        }
      }
      for (const id of changed) this.notify(id);
    }
  }

  /** Record answers in the caller's transaction; returns the live queries that changed. */
  private async record(tx: Repositories, answers: readonly Answer[]): Promise<Set<number>> {
    const byQuery = new Map<number, AnswerInput[]>();
    for (const a of answers) {
      const r = a.result;
      const failed = r.status !== 0;
      let list = byQuery.get(a.liveQueryId);
      if (list === undefined) {
        list = [];
        byQuery.set(a.liveQueryId, list);
      }
      list.push({
        queryIdx: a.queryIdx,
        hostId: a.hostId,
        status: failed ? 'failed' : 'successful',
        message: failed ? (r.message !== '' ? r.message : 'the query failed (osquery sent no message)') : '',
        rows: failed ? [] : r.rows,
        now: a.now,
      });
    }
    const changed = new Set<number>();
    for (const [liveQueryId, list] of byQuery) {
      const outcome = await tx.liveQueries.recordAnswers({
        liveQueryId,
        answers: list,
        now: this.deps.now(),
        maxRows: this.maxRows,
        knownColumns: (idx) => this.columns.get(`${liveQueryId}:${idx}`),
      });
      if (outcome.recorded === 0) continue;
      changed.add(liveQueryId);
      for (const [idx, cols] of outcome.columns) {
        const key = `${liveQueryId}:${idx}`;
        // Bounded: only queries answering right now need their columns at hand.
        if (this.columns.size >= 1_000 && !this.columns.has(key)) this.columns.clear();
        this.columns.set(key, new Set(cols));
      }
    }
    return changed;
  }

  /** Record one answer now (in its own transaction). Idempotent; late or cancelled answers are ignored. */
  async ingest(liveQueryId: number, queryIdx: number, hostId: number, r: Pick<DistributedResult, 'rows' | 'status' | 'message'>, now: number): Promise<boolean> {
    const changed = await this.deps.store.transaction((tx) => this.record(tx, [{ liveQueryId, queryIdx, hostId, result: r, now }]));
    for (const id of changed) this.notify(id);
    return changed.size > 0;
  }

  // ------------------------------------------------------------------ expiry, cancel, retention

  /** Expire every open live query past its timeout. */
  async expireDue(): Promise<number> {
    let n = 0;
    for (;;) {
      const ids = await this.deps.store.liveQueries.dueForExpiry(this.deps.now(), 100);
      for (const id of ids) await this.expire(id);
      n += ids.length;
      if (ids.length < 100 || this.stopped) return n;
    }
  }

  private async expire(id: number): Promise<void> {
    const row = await this.deps.store.liveQueries.findById(id);
    if (row === undefined || row.finished_at !== null) return;
    // Answers stored by the distributed service whose event never reached us (a crash between
    // its commit and ours) are recorded before the rest expire.
    for (const p of await this.deps.store.liveQueries.parts(id)) {
      for (;;) {
        const found = await this.deps.store.liveQueries.unrecordedAnswers(id, p.idx, p.dist_name, row.expires_at, 200);
        let progress = false;
        for (const a of found) {
          const rows = JSON.parse(a.rows) as Array<Record<string, unknown>>;
          if (await this.ingest(id, p.idx, a.host_id, { rows: rows as DistributedResult['rows'], status: a.status, message: a.message }, a.received_at)) progress = true;
        }
        if (found.length < 200 || !progress) break;
      }
    }
    const now = this.deps.now();
    await this.deps.store.transaction((tx) => tx.liveQueries.closePending(id, 'expired', now));
    this.notify(id);
  }

  /** Stop a running live query: undelivered queue items go, pending hosts become Cancelled. */
  async cancel(id: number): Promise<{ dequeued: number; cancelledHosts: number }> {
    const row = await this.refreshed(await this.mustFind(id));
    if (row.finished_at !== null) throw new ConflictError(`live query ${id} is already ${stateOf(row)}`);
    const parts = await this.deps.store.liveQueries.parts(id);
    const now = this.deps.now();
    const r = await this.deps.store.transaction(async (tx) => {
      const dequeued = await tx.liveQueries.dequeueUndelivered(id, parts);
      const cancelledHosts = await tx.liveQueries.closePending(id, 'cancelled', now);
      return { dequeued, cancelledHosts };
    });
    this.notify(id);
    return r;
  }

  /** Delete live queries older than the history window, with their results (in chunks). */
  async purgeOld(): Promise<number> {
    // An admin's retention setting (Settings → retention) overrides MIMIR_LIVE_QUERY_HISTORY.
    const days = (await retentionOverride(this.deps.store, 'liveQueryHistoryDays')) ?? this.historyDays;
    const cutoff = this.deps.now() - days * DAY_MS;
    let n = 0;
    for (;;) {
      const ids = await this.deps.store.liveQueries.createdBefore(cutoff, 20);
      for (const id of ids) {
        while ((await this.deps.store.transaction((tx) => tx.liveQueries.purgeResultsChunk(id))) > 0) if (this.stopped) return n;
        await this.deps.store.transaction((tx) => tx.liveQueries.deleteLiveQuery(id));
        n++;
      }
      if (ids.length < 20 || this.stopped) return n;
    }
  }

  // ------------------------------------------------------------------ reads

  private async mustFind(id: number): Promise<LiveQueryRow> {
    const row = await this.deps.store.liveQueries.findById(id);
    if (row === undefined) throw new NotFoundError(`live query ${id} not found`);
    return row;
  }

  /** The row with its timeout applied now, if the timer has not got to it yet. */
  private async refreshed(row: LiveQueryRow): Promise<LiveQueryRow> {
    if (row.finished_at !== null || row.expires_at > this.deps.now()) return row;
    await this.expire(row.id);
    return this.mustFind(row.id);
  }

  async get(id: number): Promise<LiveQueryDetail> {
    const row = await this.refreshed(await this.mustFind(id));
    const [parts, pendingDelivered] = await Promise.all([
      this.deps.store.liveQueries.parts(id),
      row.finished_at === null ? this.deps.store.liveQueries.pendingDelivered(id) : Promise.resolve(0),
    ]);
    return { row, parts, pendingDelivered };
  }

  async snapshot(id: number): Promise<Snapshot> {
    const row = await this.refreshed(await this.mustFind(id));
    const parts = await this.deps.store.liveQueries.parts(id);
    return { state: stateOf(row), counts: countsOf(row, parts), rowCount: row.row_count, truncated: row.truncated === 1, finished: row.finished_at !== null };
  }

  async list(f: { beforeId?: number | undefined; days?: number | undefined; q?: string | undefined; limit: number }) {
    const since = this.deps.now() - (f.days ?? this.historyDays) * DAY_MS;
    let rows = await this.deps.store.liveQueries.list({ beforeId: f.beforeId, since, q: f.q, limit: f.limit });
    if (rows.some((r) => r.finished_at === null && r.expires_at <= this.deps.now())) rows = await Promise.all(rows.map((r) => this.refreshed(r)));
    const parts = await this.deps.store.liveQueries.partsOf(rows.map((r) => r.id));
    return rows.map((row) => ({ row, parts: parts.filter((p) => p.live_query_id === row.id) }));
  }

  async hosts(id: number, f: { status?: LiveHostStatusValue | undefined; queryIdx?: number | undefined; after?: readonly [number, number] | undefined; limit: number }) {
    await this.refreshed(await this.mustFind(id));
    return this.deps.store.liveQueries.listHosts({ liveQueryId: id, ...f });
  }

  /** Rows with each part's ECS mapping ready to apply. */
  async results(id: number, f: { afterId?: number | undefined; hostId?: number | undefined; queryIdx?: number | undefined; q?: string | undefined; limit: number }) {
    const row = await this.mustFind(id);
    const rows = await this.deps.store.liveQueries.listResults({ liveQueryId: id, ...f });
    return { row, rows };
  }

  parts(id: number): Promise<LiveQueryPartRow[]> {
    return this.deps.store.liveQueries.parts(id);
  }

  /** Every matching stored row, page by page (exports stream these; memory stays one page). */
  async *iterateResults(id: number, f: { hostId?: number | undefined; queryIdx?: number | undefined; q?: string | undefined }, pageSize = 1000) {
    let afterId: number | undefined;
    for (;;) {
      const page = await this.deps.store.liveQueries.listResults({ liveQueryId: id, ...f, afterId, limit: pageSize });
      if (page.length > 0) yield page;
      const last = page[page.length - 1];
      if (last === undefined || page.length < pageSize) return;
      afterId = last.id;
    }
  }

  answersAfter(id: number, seq: number, limit: number) {
    return this.deps.store.liveQueries.answersAfter(id, seq, limit);
  }

  answerRows(id: number, queryIdx: number, hostId: number, afterRowIdx: number, limit: number) {
    return this.deps.store.liveQueries.answerRows(id, queryIdx, hostId, afterRowIdx, limit);
  }

  /** The truncation notice, when rows were dropped at the cap. */
  notice(row: LiveQueryRow): string | null {
    if (row.truncated !== 1) return null;
    return `Results truncated: ${row.stored_rows.toLocaleString('en-US')} of ${row.row_count.toLocaleString('en-US')} rows were stored ` +
      `(the limit is ${this.maxRows.toLocaleString('en-US')} rows per live query). Counts and per-host statuses are complete; ` +
      'narrow the query (WHERE, LIMIT) or target fewer hosts to see every row.';
  }

  // ------------------------------------------------------------------ change notifications

  /** Call `fn` whenever an answer, expiry or cancel changes live query `id`. Returns unsubscribe. */
  subscribe(id: number, fn: () => void): () => void {
    let set = this.listeners.get(id);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(fn);
    return () => {
      const s = this.listeners.get(id);
      s?.delete(fn);
      if (s?.size === 0) this.listeners.delete(id);
    };
  }

  subscriberCount(id: number): number {
    return this.listeners.get(id)?.size ?? 0;
  }

  private notify(id: number): void {
    this.wake(id);
    this.deps.cluster?.publish('live.changed', { id });
  }

  private wake(id: number): void {
    for (const fn of this.listeners.get(id) ?? []) {
      try {
        fn();
      } catch (err) {
        this.deps.log.error({ err, liveQueryId: id }, 'live query subscriber failed');
      }
    }
  }
}

function distName(id: number, idx: number, multi: boolean): string {
  return multi ? `mimir_live_${id}_${idx}` : `mimir_live_${id}`;
}

