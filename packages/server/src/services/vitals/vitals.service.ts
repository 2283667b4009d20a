/**
 * Host vitals: detail queries riding on distributed reads (Fleet §1.16, §2.3). A host is due when
 * a refetch was asked for, when it has never reported, or when its last full report is older than
 * the detail interval plus a per-host jitter; the answers update the hosts row, the raw vitals,
 * software, users and scheduled-query stats.
 *
 * `dueQueries` runs on every check-in of every host (Fleet: 99.7% of reads are empty, ADR-0011), so
 * the not-due path is arithmetic on the cached HostState only: no allocation, no database.
 */
import type { DistributedResult, HostPlatform } from '@mimir/osquery-protocol';
import type { HostUpdate } from '../../storage/repositories/hosts.repository.js';
import type { Repositories } from '../../storage/store.js';
import type { HostState } from '../host-cache.js';
import { hostFieldsFromDetails } from '../host-fields.js';
import {
  count, pickDisk, pickPrimaryAddress, scheduleStatRows, softwareRows, stringRow, userRows, type Row,
} from './vitals.ingest.js';
import { DETAIL_QUERY_SETS, hasPlatformQueries, type DetailName } from './vitals.queries.js';
import { VITALS_PREFIX, type VitalsSource } from './vitals.types.js';

export interface VitalsServiceOptions {
  /** How often a host's details are refreshed (Fleet `osquery_detail_update_interval`, default 1 h). */
  detailIntervalMs: number;
  /** Up to this percentage of the interval is added per host so a fleet's refreshes spread out (Fleet default 10). */
  maxJitterPercent?: number;
  /** A hand-out with no answer after this long is sent again (the agent may have restarted or lost it). */
  resendAfterMs?: number;
}

const DEFAULT_MAX_JITTER_PERCENT = 10;
const DEFAULT_RESEND_AFTER_MS = 5 * 60_000;

/** Rows kept verbatim in host_vitals for the host page. */
const RAW_VITALS: readonly DetailName[] = ['os_version', 'osquery_info', 'system_info', 'interface_addresses', 'uptime', 'disk_space'];

/**
 * A deterministic fraction in [0, 1) per host id (a 32-bit integer mix, "lowbias32"), so
 * consecutive ids land far apart. Fleet keys its jitter table by host id for the same reason (§2.3).
 */
export function hostJitterFraction(hostId: number): number {
  let h = (hostId ^ Math.floor(hostId / 0x1_0000_0000)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

export class VitalsService implements VitalsSource {
  private readonly intervalMs: number;
  private readonly jitterSpanMs: number;
  private readonly resendAfterMs: number;
  /**
   * Hosts whose outstanding hand-out was made because of a refetch request. A refetch flag seen
   * while a hand-out is outstanding but absent here was set after it, so it is honoured at once and
   * survives the earlier batch's answer. Only consulted for hosts with a refetch pending.
   */
  private readonly refetchHandedOut = new WeakSet<HostState>();

  constructor(opts: VitalsServiceOptions) {
    const jitter = opts.maxJitterPercent ?? DEFAULT_MAX_JITTER_PERCENT;
    if (!(opts.detailIntervalMs > 0) || !Number.isFinite(opts.detailIntervalMs)) {
      throw new RangeError(`detailIntervalMs must be a positive number, got ${opts.detailIntervalMs}`);
    }
    if (!(jitter >= 0 && jitter <= 100)) throw new RangeError(`maxJitterPercent must be within 0..100, got ${jitter}`);
    this.intervalMs = opts.detailIntervalMs;
    this.jitterSpanMs = (opts.detailIntervalMs * jitter) / 100;
    this.resendAfterMs = opts.resendAfterMs ?? DEFAULT_RESEND_AFTER_MS;
  }

  /** This host's extra delay on top of the interval: fixed per host, 0 ≤ jitter < maxJitterPercent% of it. */
  jitterMs(hostId: number): number {
    return Math.floor(hostJitterFraction(hostId) * this.jitterSpanMs);
  }

  dueQueries(host: HostState, now: number): Record<string, string> | undefined {
    // Hot path: a host that reported within interval + jitter and has no refetch pending.
    if (!host.refetchRequested && host.detailUpdatedAt !== 0 && now < host.detailUpdatedAt + this.intervalMs + this.jitterMs(host.id)) {
      return undefined;
    }
    // An earlier hand-out is still outstanding: osquery runs the batch and writes when done (§5),
    // so handing it out again on every 10 s check-in would only queue duplicates on the agent.
    // `now >= detailRequestedAt` lets a clock stepping backwards expire the window.
    if (
      host.detailRequestedAt !== 0 && now >= host.detailRequestedAt && now - host.detailRequestedAt < this.resendAfterMs &&
      !(host.refetchRequested && !this.refetchHandedOut.has(host))
    ) {
      return undefined;
    }
    host.detailRequestedAt = now;
    if (host.refetchRequested) this.refetchHandedOut.add(host);
    else this.refetchHandedOut.delete(host);
    // A copy: the caller merges it into its own map, and the shared per-platform set stays intact.
    return { ...DETAIL_QUERY_SETS[host.platform] };
  }

  async ingest(tx: Repositories, host: HostState, results: readonly DistributedResult[], now: number): Promise<void> {
    const answered = new Map<string, Row[]>();
    for (const r of results) {
      if (!r.id.startsWith(VITALS_PREFIX)) continue;
      // A failed query ("no such table", denylisted, …) says nothing about the host: keep what is stored.
      if (r.status !== 0) continue;
      answered.set(r.id.slice(VITALS_PREFIX.length), r.rows.map(stringRow));
    }
    if (answered.size === 0) return;
    const rowsOf = (name: DetailName): Row[] | undefined => answered.get(name);
    const firstRow = (name: DetailName): Row | undefined => rowsOf(name)?.[0];

    const os = firstRow('os_version');
    const info = firstRow('osquery_info');
    const system = firstRow('system_info');
    const { platform, columns } = hostFieldsFromDetails({
      ...(os !== undefined ? { os_version: os } : {}),
      ...(info !== undefined ? { osquery_info: info } : {}),
      ...(system !== undefined ? { system_info: system } : {}),
    });
    const update: HostUpdate = { ...columns };

    const uptime = count(firstRow('uptime')?.['total_seconds']);
    if (uptime !== undefined) update.uptime_seconds = uptime;
    const addresses = rowsOf('interface_addresses');
    const primary = addresses === undefined ? undefined : pickPrimaryAddress(addresses);
    if (primary !== undefined) {
      update.primary_ip = primary.ip;
      update.primary_mac = primary.mac;
    }
    const diskRows = rowsOf('disk_space');
    const disk = diskRows === undefined ? undefined : pickDisk(diskRows);
    if (disk !== undefined) {
      update.disk_total_bytes = disk.total;
      update.disk_available_bytes = disk.available;
    }

    // The clock restarts only when the core tables all answered in this write: a partial answer
    // (say, only users) must not push the next full refresh an interval away (Fleet uses the same
    // core queries as proof that a write went through).
    const complete = answered.has('os_version') && answered.has('osquery_info') && answered.has('system_info');
    const newPlatform: HostPlatform | undefined = platform !== undefined && platform !== 'unknown' ? platform : undefined;
    // Keep a pending refetch that was requested after the batch now answering was handed out, and
    // ask again when the host turned out to have a platform with more queries than it was sent.
    const keepRefetch = complete && (
      (host.refetchRequested && host.detailRequestedAt !== 0 && !this.refetchHandedOut.has(host)) ||
      (newPlatform !== undefined && !hasPlatformQueries(host.platform) && hasPlatformQueries(newPlatform))
    );
    if (complete) {
      update.detail_updated_at = now;
      update.refetch_requested = keepRefetch ? 1 : 0;
    }
    if (Object.keys(update).length > 0) {
      update.updated_at = now;
      await tx.hosts.update(host.id, update);
    }

    for (const name of RAW_VITALS) {
      const rows = rowsOf(name);
      if (rows !== undefined) await tx.hosts.upsertVitals(host.id, name, JSON.stringify(rows), now);
    }
    const users = rowsOf('users');
    if (users !== undefined) await tx.hosts.replaceUsers(host.id, userRows(users));
    const software = rowsOf('software');
    if (software !== undefined) await tx.hosts.replaceSoftware(host.id, softwareRows(software));
    const schedule = rowsOf('osquery_schedule');
    if (schedule !== undefined) {
      const stats = scheduleStatRows(schedule, now);
      await tx.scheduleStats.replace(host.id, stats);
    }

    // The cache mirrors the row last, once every write above has gone through. (A failure later in
    // the caller's transaction can still roll the row back; osquery then re-sends the write, §5.2.)
    if (newPlatform !== undefined) host.platform = newPlatform;
    if (columns.osquery_version !== undefined) host.osqueryVersion = columns.osquery_version;
    if (columns.hostname !== undefined) host.hostname = columns.hostname;
    if (complete) {
      host.detailUpdatedAt = now;
      host.refetchRequested = keepRefetch;
      // Nothing is outstanding any more. When a refetch is kept, detailRequestedAt stays so a
      // re-sent copy of this write (§5.2) reaches the same decision, and the missing mark lets
      // the next check-in through the resend window.
      if (!keepRefetch) host.detailRequestedAt = 0;
      this.refetchHandedOut.delete(host);
    }
  }
}
