/**
 * Online/offline/new (Fleet §1.1 "Host status"): a host is online if it was seen within
 * max(distributed_interval, config_refresh) + the online buffer, and new if it enrolled in the last
 * 24 hours. Fleet users find the semantics confusing (fleet.md §4 item 21) when a team runs a longer
 * distributed_interval than the default; here the window follows the interval each group actually
 * serves (group options override global options override the server default, as the config does).
 *
 * Last-seen times live in memory first (HostCache.touch) and reach host_seen in batches. The API
 * prefers the in-memory time; SQL filters flush the batch first and then correct the narrow band of
 * hosts whose stored time may still lag (see `statusSql`).
 */
import type { Logger } from '../../logger.js';
import type { StatusSql } from '../../storage/repositories/host-queries.repository.js';
import type { Store } from '../../storage/store.js';
import type { HostCache } from '../host-cache.js';
import { GLOBAL_OPTIONS_KEY } from '../osquery-config.service.js';

export const NEW_HOST_MS = 24 * 3600_000;
/**
 * After a flush, a stored last-seen time trails the in-memory one by less than HostCache's write
 * granularity (15 s); twice that leaves room for check-ins racing the flush.
 */
const SEEN_LAG_SLACK_MS = 30_000;
/** Above this many hosts in the lag band, exactness gives way to a bounded query. */
const MAX_BAND = 10_000;
/** Group options and global options change rarely; re-read them at most this often. */
const WINDOWS_TTL_MS = 15_000;

export interface StatusSettings {
  /** Seconds. */
  distributedInterval: number;
  configRefresh: number;
  onlineBuffer: number;
}

export interface OnlineWindows {
  defaultMs: number;
  /** Only groups whose window differs from the default. */
  byGroup: ReadonlyMap<number, number>;
}

/** A positive integer interval from an osquery option value (integers or numeric strings, §3.2). */
function intervalOption(options: unknown): number | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return undefined;
  const v = (options as Record<string, unknown>)['distributed_interval'];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export class HostStatusService {
  private windowsCache: { at: number; value: OnlineWindows } | undefined;

  constructor(
    private readonly store: Store,
    private readonly cache: HostCache,
    private readonly settings: StatusSettings,
    private readonly log: Logger,
  ) {}

  /** Call after group options change. */
  invalidate(): void {
    this.windowsCache = undefined;
  }

  async windows(now: number): Promise<OnlineWindows> {
    const hit = this.windowsCache;
    if (hit !== undefined && now - hit.at >= 0 && now - hit.at < WINDOWS_TTL_MS) return hit.value;
    const s = this.settings;
    const windowFor = (distributedInterval: number) => (Math.max(distributedInterval, s.configRefresh) + s.onlineBuffer) * 1000;
    const globalInterval = intervalOption(await this.store.settings.get(GLOBAL_OPTIONS_KEY)) ?? s.distributedInterval;
    const defaultMs = windowFor(globalInterval);
    const byGroup = new Map<number, number>();
    for (const g of await this.store.groups.list()) {
      const interval = intervalOption(parseJson(g.options));
      if (interval === undefined) continue;
      const ms = windowFor(interval);
      if (ms !== defaultMs) byGroup.set(g.id, ms);
    }
    const value = { defaultMs, byGroup };
    this.windowsCache = { at: now, value };
    return value;
  }

  /** The best last-seen time we have: the in-memory check-in time when the host is cached. */
  seenAt(hostId: number, storedSeenAt: number | null | undefined): number {
    return Math.max(this.cache.getById(hostId)?.seenAt ?? 0, storedSeenAt ?? 0);
  }

  isOnline(w: OnlineWindows, groupId: number, seenAt: number, now: number): boolean {
    return seenAt > 0 && seenAt >= now - (w.byGroup.get(groupId) ?? w.defaultMs);
  }

  /** Write batched last-seen times now, before a query that reads host_seen. */
  async flushSeen(): Promise<void> {
    try {
      await this.cache.flushSeen();
    } catch (err) {
      // The periodic flush retries; the answer is then at most one flush interval stale.
      this.log.warn({ err }, 'last-seen flush before a status query failed');
    }
  }

  /**
   * The SQL view of online status at `now`. Flushes batched last-seen writes first, so a stored time
   * trails the in-memory one by under SEEN_LAG_SLACK_MS; hosts stored just below their threshold
   * are then checked against the cache one by one and promoted when it saw them in time.
   */
  async statusSql(now: number): Promise<StatusSql> {
    const w = await this.windows(now);
    await this.flushSeen();
    const defaultSince = now - w.defaultMs;
    const groupSince = [...w.byGroup].map(([g, ms]) => [g, now - ms] as const);
    const sinces = [defaultSince, ...groupSince.map(([, s]) => s)];
    const band = await this.store.hostQueries.seenBand(Math.min(...sinces) - SEEN_LAG_SLACK_MS, Math.max(...sinces), MAX_BAND);
    const promoted: number[] = [];
    for (const b of band) {
      const since = now - (w.byGroup.get(b.group_id) ?? w.defaultMs);
      if ((this.cache.getById(b.host_id)?.seenAt ?? 0) >= since) promoted.push(b.host_id);
    }
    return { defaultSince, groupSince, promoted };
  }
}
