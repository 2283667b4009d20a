/**
 * Labels (fleet.md §1.6): built-in platform labels (membership computed from hosts.platform),
 * manual labels (an explicit host list) and dynamic labels: SQL a host runs through the distributed
 * queue as `mimir_label_<id>`; one row or more makes it a member, no rows removes it, and a failed
 * query leaves membership as it was (Fleet's "unknown"; a missing table must not empty a label).
 *
 * Dynamic labels re-run every label interval (Fleet `osquery_label_update_interval`, default 1 h,
 * with up to 10% per-host jitter, §2.3). A timer picks the hosts that are due from
 * host_label_schedule, a bounded batch per tick, so a fleet that enrolled at once spreads out.
 */
import type { CreateLabelRequest, UpdateLabelRequest } from '@mimir/api-contract';
import { platformFilterMatches, type DistributedResult, type HostPlatform } from '@mimir/osquery-protocol';
import type { Selectable } from 'kysely';
import { BadRequestError, ConflictError, createError, NotFoundError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { isUniqueViolation } from '../../storage/errors.js';
import type { LabelsTable } from '../../storage/schema.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { Store } from '../../storage/store.js';
import type { ServiceHub } from '../contracts.js';
import type { DistributedService, QueueItem } from '../distributed.service.js';
import type { Cluster } from '../../cluster/cluster.js';
import type { HostCache } from '../host-cache.js';
import { hostJitterFraction } from '../vitals/vitals.service.js';

export const LABEL_QUERY_PREFIX = 'mimir_label_';
/** The distributed queue `source` of label queries; results come back tagged with it. */
export const LABEL_SOURCE = 'label';
export const LabelReadOnlyError = createError('label_read_only', 409);

export type LabelRow = Selectable<LabelsTable>;
export type LabelKind = 'builtin' | 'dynamic' | 'manual';

export interface LabelView {
  row: LabelRow;
  hostCount: number;
}

export interface LabelsServiceOptions {
  /** Fleet's osquery_label_update_interval default. */
  intervalMs?: number;
  /** Up to this percentage of the interval is added per host (Fleet osquery_max_jitter_percent, 10). */
  maxJitterPercent?: number;
  tickMs?: number;
  /** Hosts handled per tick: bounds the queue writes of one tick. */
  maxHostsPerTick?: number;
}

export interface LabelsServiceDeps {
  store: Store;
  cache: HostCache;
  distributed: DistributedService;
  hub: ServiceHub;
  log: Logger;
  now(): number;
  /** Several instances (issue #10): label changes cross instances; re-runs are scheduled by the leader. */
  cluster?: Cluster | undefined;
}

const DEFAULT_INTERVAL_MS = 3600_000;
const DEFAULT_TICK_MS = 10_000;
const DEFAULT_MAX_HOSTS_PER_TICK = 2_000;
/** Hosts per transaction when a label is queued for the whole fleet. */
const QUEUE_CHUNK = 1_000;
/** Re-scan every host for missing schedule rows this often (ids may commit out of order on PostgreSQL). */
const FULL_RESCAN_MS = 10 * 60_000;
/** Label host counts are cached; changes made here mark them stale at once. */
const COUNTS_TTL_MS = 15_000;

const PLATFORM_ORDER = ['linux', 'darwin', 'windows', 'freebsd'];

export function labelQueryName(labelId: number): string {
  return `${LABEL_QUERY_PREFIX}${labelId}`;
}

export function labelPlatforms(row: Pick<LabelRow, 'platforms'>): string[] {
  return row.platforms === '' ? [] : row.platforms.split(',');
}

function joinPlatforms(platforms: readonly string[] | undefined): string {
  return [...new Set(platforms ?? [])].sort((a, b) => PLATFORM_ORDER.indexOf(a) - PLATFORM_ORDER.indexOf(b)).join(',');
}

interface DynamicLabel { id: number; query: string; platforms: string }

export class LabelsService {
  private readonly intervalMs: number;
  private readonly jitterSpanMs: number;
  private readonly tickMs: number;
  private readonly maxHostsPerTick: number;
  private dynamicCache: Promise<Map<number, DynamicLabel>> | undefined;
  private counts: { at: number; value: Promise<Map<number, number>> } | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private highWater = 0;
  private highWaterAt = 0;
  private readonly onResult = (hostId: number, result: DistributedResult, source: string): void => {
    if (source !== LABEL_SOURCE || !result.id.startsWith(LABEL_QUERY_PREFIX)) return;
    const p = this.ingest(hostId, result).catch((err: unknown) => this.deps.log.error({ err, hostId, query: result.id }, 'label result not recorded'));
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  };

  constructor(private readonly deps: LabelsServiceDeps, opts: LabelsServiceOptions = {}) {
    this.intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.jitterSpanMs = (this.intervalMs * (opts.maxJitterPercent ?? 10)) / 100;
    this.tickMs = opts.tickMs ?? DEFAULT_TICK_MS;
    this.maxHostsPerTick = opts.maxHostsPerTick ?? DEFAULT_MAX_HOSTS_PER_TICK;
  }

  /** Listen for label results and start the re-run timer. */
  start(): void {
    this.deps.distributed.on('result', this.onResult);
    this.deps.cluster?.on('labels.invalidate', () => this.dropCached());
    this.deps.cluster?.on('resync', () => this.dropCached());
    this.startTimer();
  }

  startTimer(): void {
    this.timer ??= setInterval(() => {
      if (this.ticking || this.deps.cluster?.isLeader() === false) return;
      this.ticking = true;
      this.tick(this.deps.now())
        .catch((err: unknown) => this.deps.log.error({ err }, 'dynamic label re-run failed'))
        .finally(() => {
          this.ticking = false;
        });
    }, this.tickMs);
    this.timer.unref();
  }

  /** Stop periodic re-runs (results are still recorded); tests drive `tick` themselves. */
  stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async stop(): Promise<void> {
    this.stopTimer();
    this.deps.distributed.off('result', this.onResult);
    await this.settled();
  }

  /** Resolves when every label result received so far is recorded. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private changed(): void {
    this.dropCached();
    this.deps.cluster?.publish('labels.invalidate', {});
  }

  private dropCached(): void {
    this.dynamicCache = undefined;
    this.counts = undefined;
  }

  /** Mark host counts stale (hosts were deleted or moved elsewhere). */
  invalidateCounts(): void {
    this.counts = undefined;
  }

  // --- reading

  private async hostCounts(now: number): Promise<Map<number, number>> {
    const hit = this.counts;
    if (hit !== undefined && now - hit.at >= 0 && now - hit.at < COUNTS_TTL_MS) return hit.value;
    const value = (async () => {
      const { store } = this.deps;
      const [members, platforms, builtins] = await Promise.all([
        store.labels.memberCounts(),
        store.hostQueries.countByPlatform(),
        store.labels.list({ afterId: 0, limit: 1000, type: 'builtin' }),
      ]);
      const total = [...platforms.values()].reduce((a, b) => a + b, 0);
      for (const b of builtins) {
        const ps = labelPlatforms(b);
        members.set(b.id, ps.length === 0 ? total : ps.reduce((n, p) => n + (platforms.get(p) ?? 0), 0));
      }
      return members;
    })();
    this.counts = { at: now, value };
    value.catch(() => {
      if (this.counts?.value === value) this.counts = undefined;
    });
    return value;
  }

  async list(q: { type?: LabelKind | undefined; q?: string | undefined; limit?: number | undefined; cursor?: string | undefined }, now: number) {
    const limit = q.limit ?? 100;
    const after = decodeCursor(q.cursor);
    if (after !== undefined && (typeof after !== 'number' || !Number.isInteger(after))) {
      throw new BadRequestError('invalid cursor', [{ path: '/cursor', message: 'not a cursor from this API' }]);
    }
    const rows = await this.deps.store.labels.list({ afterId: after ?? 0, limit: limit + 1, type: q.type, q: q.q });
    const counts = await this.hostCounts(now);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({ row, hostCount: counts.get(row.id) ?? 0 })),
      nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null,
    };
  }

  async get(id: number, now: number): Promise<LabelView> {
    const row = await this.deps.store.labels.findById(id);
    if (row === undefined) throw new NotFoundError(`label ${id} not found`);
    return { row, hostCount: (await this.hostCounts(now)).get(id) ?? 0 };
  }

  // --- changes

  private validateQuery(query: string, platforms: readonly string[]): void {
    if (query.trim() === '') throw new ValidationError('the query is empty', [{ path: '/query', message: 'required for dynamic labels' }]);
    // The queries area publishes the osquery SQL validator; labels use it when it is there.
    const v = this.deps.hub.sqlValidator?.validate(query, { platforms });
    if (v !== undefined && v.errors.length > 0) {
      throw new ValidationError('the label query is not valid osquery SQL', v.errors.map((e) => ({ path: '/query', message: e.message })));
    }
  }

  private async checkHosts(hostIds: readonly number[]): Promise<number[]> {
    const unique = [...new Set(hostIds)];
    const existing = new Set(await this.deps.store.hostQueries.existingIds(unique));
    const missing = unique.filter((id) => !existing.has(id));
    if (missing.length > 0) {
      throw new ValidationError(`${missing.length} host id(s) do not exist`, [{ path: '/hostIds', message: `unknown host ids: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}` }]);
    }
    return unique;
  }

  async create(input: CreateLabelRequest, now: number): Promise<{ label: LabelView; queuedHosts: number }> {
    const name = input.name.trim();
    const platforms = joinPlatforms(input.platforms);
    if (input.type === 'dynamic') {
      if (input.query === undefined) throw new ValidationError('dynamic labels need a query', [{ path: '/query', message: 'required for dynamic labels' }]);
      if (input.hostIds !== undefined) throw new ValidationError('dynamic labels get their hosts from the query', [{ path: '/hostIds', message: 'only for manual labels' }]);
      this.validateQuery(input.query, input.platforms ?? []);
    } else {
      if (input.query !== undefined) throw new ValidationError('manual labels have no query', [{ path: '/query', message: 'only for dynamic labels' }]);
      if (input.platforms !== undefined) throw new ValidationError('manual labels have no platform filter', [{ path: '/platforms', message: 'only for dynamic labels' }]);
    }
    const hostIds = input.hostIds === undefined ? [] : await this.checkHosts(input.hostIds);
    let id: number;
    try {
      id = await this.deps.store.transaction(async (tx) => {
        const labelId = await tx.labels.insert({
          name,
          description: input.description ?? '',
          label_type: input.type,
          query: input.query ?? '',
          platforms,
          created_at: now,
          updated_at: now,
        });
        if (hostIds.length > 0) await tx.labels.addMembers(labelId, hostIds, now);
        return labelId;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a label named "${name}" already exists`, [{ path: '/name', message: 'already in use' }]);
      throw err;
    }
    this.changed();
    const label = await this.get(id, now);
    const queuedHosts = input.type === 'dynamic' ? await this.queueForAll(label.row, now) : 0;
    return { label, queuedHosts };
  }

  async update(id: number, input: UpdateLabelRequest, now: number): Promise<{ label: LabelView; queuedHosts: number; changed: string[] }> {
    const row = await this.deps.store.labels.findById(id);
    if (row === undefined) throw new NotFoundError(`label ${id} not found`);
    if (row.label_type === 'builtin') throw new LabelReadOnlyError('built-in labels cannot be changed');
    const patch: { name?: string; description?: string; query?: string; platforms?: string } = {};
    if (input.name !== undefined && input.name.trim() !== row.name) patch.name = input.name.trim();
    if (input.description !== undefined && input.description !== row.description) patch.description = input.description;
    if (row.label_type !== 'dynamic') {
      if (input.query !== undefined) throw new ValidationError('manual labels have no query', [{ path: '/query', message: 'only for dynamic labels' }]);
      if (input.platforms !== undefined) throw new ValidationError('manual labels have no platform filter', [{ path: '/platforms', message: 'only for dynamic labels' }]);
    } else {
      const query = input.query ?? row.query;
      const platforms = input.platforms !== undefined ? joinPlatforms(input.platforms) : row.platforms;
      if (query !== row.query || platforms !== row.platforms) {
        this.validateQuery(query, platforms === '' ? [] : platforms.split(','));
        if (query !== row.query) patch.query = query;
        if (platforms !== row.platforms) patch.platforms = platforms;
      }
    }
    const changed = Object.keys(patch);
    if (changed.length === 0) return { label: await this.get(id, now), queuedHosts: 0, changed };
    const rerun = patch.query !== undefined || patch.platforms !== undefined;
    try {
      await this.deps.store.transaction(async (tx) => {
        await tx.labels.update(id, { ...patch, updated_at: now });
        // Membership answered a different question: it is unknown until hosts answer the new one.
        if (rerun) await tx.labels.clearMembers(id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError(`a label named "${patch.name ?? ''}" already exists`, [{ path: '/name', message: 'already in use' }]);
      throw err;
    }
    this.changed();
    const label = await this.get(id, now);
    return { label, queuedHosts: rerun ? await this.queueForAll(label.row, now) : 0, changed };
  }

  async delete(id: number): Promise<LabelRow> {
    const row = await this.deps.store.labels.findById(id);
    if (row === undefined) throw new NotFoundError(`label ${id} not found`);
    if (row.label_type === 'builtin') throw new LabelReadOnlyError('built-in labels cannot be deleted');
    await this.deps.store.labels.delete(id);
    if (row.label_type === 'dynamic') await this.deps.store.labels.dropUndeliveredQueries(labelQueryName(id));
    this.changed();
    return row;
  }

  private async manual(id: number): Promise<LabelRow> {
    const row = await this.deps.store.labels.findById(id);
    if (row === undefined) throw new NotFoundError(`label ${id} not found`);
    if (row.label_type === 'builtin') throw new LabelReadOnlyError('built-in labels follow the host platform');
    if (row.label_type !== 'manual') throw new ValidationError('dynamic labels get their hosts from their query', [{ path: '/hostIds', message: 'only manual labels take a host list' }]);
    return row;
  }

  async addHosts(id: number, hostIds: readonly number[], now: number): Promise<{ changed: number; hostCount: number }> {
    await this.manual(id);
    const ids = await this.checkHosts(hostIds);
    const changed = await this.deps.store.transaction((tx) => tx.labels.addMembers(id, ids, now));
    this.counts = undefined;
    return { changed, hostCount: await this.deps.store.labels.memberCount(id) };
  }

  async removeHosts(id: number, hostIds: readonly number[]): Promise<{ changed: number; hostCount: number }> {
    await this.manual(id);
    const changed = await this.deps.store.transaction((tx) => tx.labels.removeMembers(id, [...new Set(hostIds)]));
    this.counts = undefined;
    return { changed, hostCount: await this.deps.store.labels.memberCount(id) };
  }

  // --- dynamic labels on hosts

  private dynamicLabels(): Promise<Map<number, DynamicLabel>> {
    this.dynamicCache ??= this.deps.store.labels.list({ afterId: 0, limit: 100_000, type: 'dynamic' }).then(
      (rows) => new Map(rows.map((r) => [r.id, { id: r.id, query: r.query, platforms: r.platforms }])),
      (err: unknown) => {
        this.dynamicCache = undefined;
        throw err;
      },
    );
    return this.dynamicCache;
  }

  private jitterMs(hostId: number): number {
    return Math.floor(hostJitterFraction(hostId) * this.jitterSpanMs);
  }

  /** Queue a label's query on every host of its platforms, a chunk per transaction. */
  private async queueForAll(label: LabelRow, now: number): Promise<number> {
    const { store, distributed } = this.deps;
    const platforms = labelPlatforms(label);
    // osquery runs a platform-filtered query on hosts whose platform it cannot tell (platformFilterMatches).
    const wanted = platforms.length === 0 ? [] : [...platforms, 'unknown'];
    let after = 0;
    let queued = 0;
    for (;;) {
      const hosts = await store.hostQueries.hostPlatformsPage(after, QUEUE_CHUNK, wanted);
      if (hosts.length === 0) break;
      const items: QueueItem[] = hosts.map((h) => ({ hostId: h.id, name: labelQueryName(label.id), sql: label.query, source: LABEL_SOURCE }));
      await distributed.enqueue(items, now);
      queued += hosts.length;
      const last = hosts[hosts.length - 1];
      if (last === undefined || hosts.length < QUEUE_CHUNK) break;
      after = last.id;
    }
    return queued;
  }

  /**
   * One scheduler step: hosts never scheduled (new since the last scan) and hosts whose labels are
   * due get every dynamic label of their platform queued, then their next due time. Returns the
   * number of hosts handled (at most maxHostsPerTick).
   */
  async tick(now: number): Promise<number> {
    const labels = [...(await this.dynamicLabels()).values()];
    if (labels.length === 0) return 0;
    const { store, distributed } = this.deps;
    if (now - this.highWaterAt >= FULL_RESCAN_MS || now < this.highWaterAt) {
      this.highWater = 0;
      this.highWaterAt = now;
    }
    const maxId = await store.labels.maxHostId();
    const fresh = await store.labels.unscheduledHosts(this.highWater, maxId, this.maxHostsPerTick);
    const lastFresh = fresh[fresh.length - 1];
    this.highWater = fresh.length < this.maxHostsPerTick || lastFresh === undefined ? maxId : lastFresh.id;
    const due = fresh.length < this.maxHostsPerTick ? await store.labels.dueHosts(now, this.maxHostsPerTick - fresh.length) : [];
    const hosts = [...fresh, ...due];
    if (hosts.length === 0) return 0;
    const items: QueueItem[] = [];
    for (const h of hosts) {
      for (const l of labels) {
        if (platformFilterMatches(l.platforms, h.platform as HostPlatform)) items.push({ hostId: h.id, name: labelQueryName(l.id), sql: l.query, source: LABEL_SOURCE });
      }
    }
    for (let i = 0; i < items.length; i += 5_000) await distributed.enqueue(items.slice(i, i + 5_000), now);
    await store.transaction((tx) => tx.labels.setDue(hosts.map((h) => [h.id, now + this.intervalMs + this.jitterMs(h.id)] as const)));
    return hosts.length;
  }

  private async ingest(hostId: number, result: DistributedResult): Promise<void> {
    const id = Number(result.id.slice(LABEL_QUERY_PREFIX.length));
    if (!Number.isSafeInteger(id)) return;
    const label = (await this.dynamicLabels()).get(id);
    // Deleted, or no longer dynamic: nothing to record.
    if (label === undefined) return;
    // A failed run ("no such table", denylisted…) says nothing about the host (Fleet: unknown).
    if (result.status !== 0) return;
    const { store, cache } = this.deps;
    const platform = cache.getById(hostId)?.platform ?? (await store.hosts.findById(hostId))?.platform;
    if (platform === undefined) return;
    // Out of scope (the label's platforms changed since it was queued): not a member (Fleet §1.6).
    const member = result.rows.length > 0 && platformFilterMatches(label.platforms, platform as HostPlatform);
    const changed = member
      ? await store.labels.addMembers(id, [hostId], this.deps.now())
      : await store.labels.removeMembers(id, [hostId]);
    if (changed > 0) this.counts = undefined;
  }
}
