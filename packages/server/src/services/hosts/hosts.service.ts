/**
 * The host inventory for operators (issue #4 "Hosts"; Fleet §1.1): filtered lists with keyset
 * cursors, counts, the dashboard summary, CSV export rows, host details, refetch and delete.
 */
import type { HostFilterQuery, HostSortKey } from '@mimir/api-contract';
import { platformFilterMatches, type HostPlatform } from '@mimir/osquery-protocol';
import { BadRequestError, NotFoundError, ValidationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { HostKeyset, HostListRow, HostQueryFilter, HostSortColumn } from '../../storage/repositories/host-queries.repository.js';
import { decodeCursor, encodeCursor } from '../../storage/sql-helpers.js';
import type { Store } from '../../storage/store.js';
import type { HostCache } from '../host-cache.js';
import { NEW_HOST_MS, type HostStatusService, type OnlineWindows } from './host-status.js';

/** One host as the API shows it: the row plus what is decided at read time. */
export interface HostRecord {
  row: HostListRow;
  /** Best last-seen time (ms): the in-memory check-in time when newer than host_seen; 0 = never. */
  seenAt: number;
  online: boolean;
  isNew: boolean;
}

const SORT_COLUMNS: Readonly<Record<HostSortKey, HostSortColumn>> = {
  hostname: 'hostname',
  lastSeen: 'seen',
  enrolledAt: 'enrolled_at',
  osqueryVersion: 'osquery_version',
  platform: 'platform',
};

/**
 * Dashboard summary cache. Counting 100k rows on every dashboard poll is what made Fleet's summary
 * slow (fleet.md §4 item 12, #53701). Maintained counters were rejected: online/offline changes with
 * the clock, not with writes, and platform/version change in enrollment and vitals ingest (other
 * areas' transactions). A short TTL bounds the cost to one aggregate pass per TTL however many
 * consoles poll, and concurrent readers share one computation.
 */
export const SUMMARY_TTL_MS = 15_000;

interface SummaryRow { platform: string; total: number; online: number; offline: number; new: number }
export interface HostSummaryData {
  total: number;
  online: number;
  offline: number;
  new: number;
  byPlatform: SummaryRow[];
  byOsqueryVersion: Array<{ version: string; count: number }>;
  generatedAt: number;
}

interface HostCursor { k: HostSortKey; o: 'a' | 'd'; v: string | number; i: number }

function parseCursor(cursor: string | undefined, sort: HostSortKey, desc: boolean): { value: string | number; id: number } | undefined {
  const c = decodeCursor(cursor);
  if (c === undefined) return undefined;
  const ok = typeof c === 'object' && c !== null && !Array.isArray(c);
  const v = ok ? (c as Partial<HostCursor>) : {};
  if (!ok || (typeof v.v !== 'string' && typeof v.v !== 'number') || typeof v.i !== 'number' || !Number.isInteger(v.i)) {
    throw new BadRequestError('invalid cursor', [{ path: '/cursor', message: 'not a cursor from this API' }]);
  }
  // A cursor is a position in one ordering; reusing it with another sort would skip or repeat hosts.
  if (v.k !== sort || v.o !== (desc ? 'd' : 'a')) {
    throw new BadRequestError('cursor belongs to another sort order', [{ path: '/cursor', message: 'request the first page again after changing sort or order' }]);
  }
  return { value: v.v, id: v.i };
}

function sortValue(row: HostListRow, column: HostSortColumn): string | number {
  return column === 'seen' ? row.seen_at : row[column];
}

export interface HostsServiceDeps {
  store: Store;
  cache: HostCache;
  status: HostStatusService;
  log: Logger;
}

export class HostsService {
  private readonly summaries = new Map<string, { at: number; value: Promise<HostSummaryData> }>();

  constructor(private readonly deps: HostsServiceDeps) {}

  /** Forget cached summaries (after changes made through this API). */
  invalidateSummary(): void {
    this.summaries.clear();
  }

  /** Turns API filters into repository filters; unknown group/label ids are a 422 on that field. */
  async resolveFilter(f: HostFilterQuery, now: number): Promise<HostQueryFilter> {
    const { store } = this.deps;
    const out: HostQueryFilter = {
      q: f.q, platform: f.platform, osName: f.osName, osVersion: f.osVersion, osqueryVersion: f.osqueryVersion,
      agentVersion: f.agentVersion, groupId: f.groupId, duplicateIdentifier: f.duplicateIdentifier,
    };
    if (f.groupId !== undefined && (await store.groups.findById(f.groupId)) === undefined) {
      throw new ValidationError('no such group', [{ path: '/groupId', message: `no group with id ${f.groupId}` }]);
    }
    if (f.labelId !== undefined) {
      const label = await store.labels.findById(f.labelId);
      if (label === undefined) throw new ValidationError('no such label', [{ path: '/labelId', message: `no label with id ${f.labelId}` }]);
      if (label.label_type === 'builtin') out.platformIn = label.platforms === '' ? [] : label.platforms.split(',');
      else out.memberOfLabel = label.id;
    }
    if (f.status === 'new') out.enrolledSince = now - NEW_HOST_MS;
    else if (f.status !== undefined) out.online = { value: f.status === 'online', status: await this.deps.status.statusSql(now) };
    return out;
  }

  toRecord(row: HostListRow, w: OnlineWindows, now: number): HostRecord {
    const seenAt = this.deps.status.seenAt(row.id, row.seen_at);
    return { row, seenAt, online: this.deps.status.isOnline(w, row.group_id, seenAt, now), isNew: row.enrolled_at >= now - NEW_HOST_MS };
  }

  async list(
    q: HostFilterQuery & { sort?: HostSortKey | undefined; order?: 'asc' | 'desc' | undefined; limit?: number | undefined; cursor?: string | undefined },
    now: number,
  ): Promise<{ items: HostRecord[]; nextCursor: string | null }> {
    const sort = q.sort ?? 'hostname';
    const desc = q.order === 'desc';
    const limit = q.limit ?? 50;
    const after = parseCursor(q.cursor, sort, desc);
    const filter = await this.resolveFilter(q, now);
    // Sorting by last seen reads host_seen: write the pending batch first so the order is current.
    if (sort === 'lastSeen' && filter.online === undefined) await this.deps.status.flushSeen();
    const column = SORT_COLUMNS[sort];
    const keyset: HostKeyset = { column, desc, after, limit: limit + 1 };
    const rows = await this.deps.store.hostQueries.list(filter, keyset);
    const w = await this.deps.status.windows(now);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last !== undefined
      ? encodeCursor({ k: sort, o: desc ? 'd' : 'a', v: sortValue(last, column), i: last.id } satisfies HostCursor)
      : null;
    return { items: page.map((r) => this.toRecord(r, w, now)), nextCursor };
  }

  async count(q: HostFilterQuery, now: number): Promise<number> {
    return this.deps.store.hostQueries.count(await this.resolveFilter(q, now));
  }

  /** Every matching host, page by page (CSV export): memory stays at one page. */
  async *exportRecords(q: HostFilterQuery & { sort?: HostSortKey | undefined; order?: 'asc' | 'desc' | undefined }, now: number): AsyncGenerator<HostRecord[]> {
    const sort = q.sort ?? 'hostname';
    const desc = q.order === 'desc';
    const column = SORT_COLUMNS[sort];
    const filter = await this.resolveFilter(q, now);
    if (sort === 'lastSeen' && filter.online === undefined) await this.deps.status.flushSeen();
    const w = await this.deps.status.windows(now);
    let after: HostKeyset['after'];
    for (;;) {
      const rows = await this.deps.store.hostQueries.list(filter, { column, desc, after, limit: 1000 });
      if (rows.length === 0) return;
      yield rows.map((r) => this.toRecord(r, w, now));
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < 1000) return;
      after = { value: sortValue(last, column), id: last.id };
    }
  }

  summary(now: number, groupId?: number): Promise<HostSummaryData> {
    const key = String(groupId ?? '');
    const hit = this.summaries.get(key);
    if (hit !== undefined && now - hit.at >= 0 && now - hit.at < SUMMARY_TTL_MS) return hit.value;
    const value = this.computeSummary(now, groupId);
    this.summaries.set(key, { at: now, value });
    // A failed computation must not be served for the whole TTL.
    value.catch(() => {
      if (this.summaries.get(key)?.value === value) this.summaries.delete(key);
    });
    return value;
  }

  private async computeSummary(now: number, groupId?: number): Promise<HostSummaryData> {
    const { store, status } = this.deps;
    if (groupId !== undefined && (await store.groups.findById(groupId)) === undefined) {
      throw new ValidationError('no such group', [{ path: '/groupId', message: `no group with id ${groupId}` }]);
    }
    const sqlStatus = await status.statusSql(now);
    const [platforms, versions] = await Promise.all([
      store.hostQueries.statusByPlatform(sqlStatus, now - NEW_HOST_MS, groupId),
      store.hostQueries.countByOsqueryVersion(groupId),
    ]);
    const byPlatform = platforms.map((p) => ({ ...p, offline: p.total - p.online }));
    const sum = (k: 'total' | 'online' | 'new') => byPlatform.reduce((n, p) => n + p[k], 0);
    const total = sum('total');
    const online = sum('online');
    return { total, online, offline: total - online, new: sum('new'), byPlatform, byOsqueryVersion: versions, generatedAt: now };
  }

  async get(id: number, now: number): Promise<HostRecord> {
    const [row] = await this.deps.store.hostQueries.findWithSeen([id]);
    if (row === undefined) throw new NotFoundError(`host ${id} not found`);
    return this.toRecord(row, await this.deps.status.windows(now), now);
  }

  /** Everything the host page shows (Fleet "Get host"), in one call. */
  async detail(id: number, now: number) {
    const { store } = this.deps;
    const host = await this.get(id, now);
    const platform = host.row.platform as HostPlatform;
    const [vitals, memberOf, allLabels, packs, stats, errors, users, softwareCount, agent] = await Promise.all([
      store.hosts.listVitals(id),
      store.labels.labelsOfHost(id),
      store.labels.list({ afterId: 0, limit: 1000, type: 'builtin' }),
      store.packs.listForGroup(host.row.group_id),
      store.scheduleStats.list(id),
      store.logs.listStatuses({ hostId: id, minSeverity: 1, limit: 50 }),
      store.hosts.listUsers(id),
      store.hostQueries.softwareCount(id),
      store.agents.findByHost(id),
    ]);
    const agentUpdates = agent !== undefined ? await store.agents.listReports(agent.id, 10) : [];
    const builtins = allLabels.filter((l) => l.platforms === '' || l.platforms.split(',').includes(platform));
    const labels = [...builtins.map((l) => ({ id: l.id, name: l.name, label_type: l.label_type })), ...memberOf];
    const statsByKey = new Map(stats.map((s) => [`${s.pack}\u0000${s.query}`, s]));
    const matched = new Set<string>();
    const hostPacks = packs
      .filter((p) => platformFilterMatches(p.platform, platform))
      .map((p) => ({
        pack: p,
        queries: p.queries.filter((q) => platformFilterMatches(q.platform, platform)).map((q) => {
          const key = `${p.name}\u0000${q.name}`;
          const s = statsByKey.get(key);
          if (s !== undefined) matched.add(key);
          return { query: q, stats: s };
        }),
      }));
    const other = stats.filter((s) => !matched.has(`${s.pack}\u0000${s.query}`));
    return {
      host,
      vitals,
      labels,
      packs: hostPacks,
      denylisted: stats.filter((s) => s.denylisted !== 0),
      otherScheduled: other,
      errors,
      users,
      softwareCount,
      agent: agent !== undefined ? { row: agent, updates: agentUpdates } : undefined,
    };
  }

  async software(id: number, q: { limit?: number | undefined; cursor?: string | undefined; q?: string | undefined }) {
    const { store } = this.deps;
    if ((await store.hosts.findById(id)) === undefined) throw new NotFoundError(`host ${id} not found`);
    const limit = q.limit ?? 100;
    const c = decodeCursor(q.cursor);
    let offset = 0;
    if (c !== undefined) {
      const o = typeof c === 'object' && c !== null ? (c as { o?: unknown }).o : undefined;
      if (typeof o !== 'number' || !Number.isInteger(o) || o < 0) throw new BadRequestError('invalid cursor', [{ path: '/cursor', message: 'not a cursor from this API' }]);
      offset = o;
    }
    const rows = await store.hostQueries.softwarePage(id, offset, limit + 1, q.q);
    const page = rows.slice(0, limit);
    return { items: page, nextCursor: rows.length > limit ? encodeCursor({ o: offset + limit }) : null };
  }

  /**
   * Refetch host vitals (Fleet §1.1): the flag is stored and set on the cached host, so the vitals
   * service hands the detail queries out on the next distributed/read, whatever the interval. An
   * offline host gets them when it comes back (Fleet #3156 asks for exactly that).
   */
  async refetch(id: number, now: number): Promise<HostRecord> {
    if (!(await this.deps.store.hostQueries.requestRefetch(id, now))) throw new NotFoundError(`host ${id} not found`);
    const cached = this.deps.cache.getById(id);
    if (cached !== undefined) cached.refetchRequested = true;
    this.deps.cache.changed([id]); // other instances reload it with the flag (issue #10)
    return this.get(id, now);
  }

  /**
   * Delete a host and everything keyed to it (cascades). Its node key dies with the row: if osquery
   * is still running there it gets node_invalid and re-enrolls as a new host (Fleet behaves alike).
   */
  async delete(id: number): Promise<{ hostname: string; identifier: string }> {
    const { store, cache } = this.deps;
    const row = await store.hosts.findById(id);
    if (row === undefined) throw new NotFoundError(`host ${id} not found`);
    await store.hosts.delete(id);
    // After the delete, so a check-in racing us cannot reload the row into the cache; `forget`
    // also drops its pending last-seen write, which would now reference a deleted row.
    cache.forget(id);
    this.invalidateSummary();
    return { hostname: row.hostname, identifier: row.identifier };
  }
}
