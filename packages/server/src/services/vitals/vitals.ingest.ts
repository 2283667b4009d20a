/**
 * Pure mappings from detail-query rows to what is stored. osquery sends every value as a string
 * (NULL → "", osquery-protocol.md §5.2); numbers are parsed defensively and a value that does not
 * parse is reported as undefined so the caller can leave the stored one alone.
 */
import type { NewScheduleStat } from '../../storage/repositories/schedule-stats.repository.js';
import type { ResultRow } from '@mimir/osquery-protocol';
import { toText } from '@mimir/osquery-protocol';
import { splitPackQueryName } from '../log-ingest.service.js';

export type Row = Record<string, string>;

export function stringRow(row: ResultRow): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = toText(v);
  return out;
}

/** A non-negative safe integer, or undefined for empty, invalid, negative (osquery's -1 = unknown) or huge values. */
export function count(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const s = v.trim();
  if (s === '') return undefined;
  const n = Math.trunc(Number(s));
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

// ---------------------------------------------------------------------------------------------
// Primary address

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Loopback, link-local and unspecified addresses say nothing about where the host lives. */
function usable(address: string): boolean {
  const a = address.toLowerCase();
  if (IPV4.test(a)) return !a.startsWith('127.') && !a.startsWith('169.254.') && a !== '0.0.0.0';
  if (!a.includes(':')) return false;
  return a !== '::1' && a !== '::' && !a.startsWith('fe80');
}

function usableMac(mac: string | undefined): string {
  if (mac === undefined) return '';
  const m = mac.trim().toLowerCase();
  return m === '' || m === '00:00:00:00:00:00' ? '' : m;
}

/**
 * The host's primary address: the one on the lowest-metric default-route interface, IPv4 before
 * IPv6, falling back to any usable address (IPv4 first) when no interface carries a default route.
 * Row order breaks ties, so the choice is stable between refreshes.
 */
export function pickPrimaryAddress(rows: readonly Row[]): { ip: string; mac: string } | undefined {
  let best: Row | undefined;
  let bestRank = Number.POSITIVE_INFINITY;
  let bestMetric = Number.POSITIVE_INFINITY;
  for (const r of rows) {
    const address = (r['address'] ?? '').trim();
    if (!usable(address)) continue;
    // Interface metric of the default route; "" (NULL) when the interface has none.
    const metric = count(r['default_route_metric']);
    const v4 = IPV4.test(address);
    const rank = (metric !== undefined ? 0 : 2) + (v4 ? 0 : 1);
    const m = metric ?? 0;
    if (rank < bestRank || (rank === bestRank && m < bestMetric)) {
      best = r;
      bestRank = rank;
      bestMetric = m;
    }
  }
  if (best === undefined) return undefined;
  return { ip: (best['address'] ?? '').trim(), mac: usableMac(best['mac']) };
}

// ---------------------------------------------------------------------------------------------
// Disk space

/**
 * Total and available bytes of the system volume from the disk_space rows (`total_bytes` and
 * `available_bytes` on every platform). Windows: the boot partition, else C:. Unix: the largest
 * row mounted on / (Linux can list rootfs and the device both on /).
 */
export function pickDisk(rows: readonly Row[]): { total: number; available: number } | undefined {
  const candidates = rows
    .map((r) => ({ r, total: count(r['total_bytes']), available: count(r['available_bytes']) }))
    .filter((c): c is { r: Row; total: number; available: number } => c.total !== undefined && c.total > 0 && c.available !== undefined);
  const boot = candidates.find((c) => c.r['boot_partition'] === '1');
  const systemDrive = candidates.find((c) => (c.r['device_id'] ?? '').toUpperCase() === 'C:');
  let chosen = boot ?? systemDrive;
  if (chosen === undefined) {
    for (const c of candidates) if (chosen === undefined || c.total > chosen.total) chosen = c;
  }
  return chosen === undefined ? undefined : { total: chosen.total, available: Math.min(chosen.available, chosen.total) };
}

// ---------------------------------------------------------------------------------------------
// Users, software, schedule stats

export interface UserRow { uid: string; username: string; description: string; directory: string; shell: string; type: string }

/** Identical rows collapse (osquery can list an account twice, e.g. /etc/passwd duplicates). */
export function userRows(rows: readonly Row[]): UserRow[] {
  const seen = new Set<string>();
  const out: UserRow[] = [];
  for (const r of rows) {
    const u: UserRow = {
      uid: r['uid'] ?? '',
      username: r['username'] ?? '',
      description: r['description'] ?? '',
      directory: r['directory'] ?? '',
      shell: r['shell'] ?? '',
      type: r['type'] ?? '',
    };
    if (u.uid === '' && u.username === '') continue;
    const key = [u.uid, u.username, u.description, u.directory, u.shell, u.type].join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(u);
  }
  return out;
}

export interface SoftwareRow { name: string; version: string; source: string; vendor: string; arch: string }

/**
 * Identical rows collapse: Windows lists a program under both the 32- and 64-bit uninstall keys,
 * and an RPM can be installed for two arches with the same name (those differ by arch and stay).
 */
export function softwareRows(rows: readonly Row[]): SoftwareRow[] {
  const seen = new Set<string>();
  const out: SoftwareRow[] = [];
  for (const r of rows) {
    const s: SoftwareRow = {
      name: (r['name'] ?? '').trim(),
      version: (r['version'] ?? '').trim(),
      source: r['source'] ?? '',
      vendor: (r['vendor'] ?? '').trim(),
      arch: r['arch'] ?? '',
    };
    if (s.name === '') continue;
    const key = [s.name, s.version, s.source, s.vendor, s.arch].join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

/** osquery reports last_executed in seconds; it is stored in milliseconds like every other timestamp. */
export type ScheduleStatRow = NewScheduleStat;

/** Total wall time in ms: `wall_time_ms` where the agent has it, else the deprecated `wall_time` in seconds. */
function wallTimeMs(r: Row): number {
  const ms = count(r['wall_time_ms']);
  if (ms !== undefined) return ms;
  const s = count(r['wall_time']);
  return s !== undefined && Number.isSafeInteger(s * 1000) ? s * 1000 : 0;
}

/** One row per query name (the table's key); names split as `pack/<pack>/<query>` like result logs. */
export function scheduleStatRows(rows: readonly Row[], now: number): ScheduleStatRow[] {
  const byName = new Map<string, ScheduleStatRow>();
  for (const r of rows) {
    const name = r['name'] ?? '';
    if (name === '') continue;
    const { pack, query } = splitPackQueryName(name);
    const lastExecuted = count(r['last_executed']) ?? 0;
    byName.set(name, {
      name,
      pack,
      query,
      executions: count(r['executions']) ?? 0,
      last_executed: Number.isSafeInteger(lastExecuted * 1000) ? lastExecuted * 1000 : 0,
      // Older agents name the column `blacklisted`; 5.x keeps that only as an alias, absent from SELECT *.
      denylisted: (r['denylisted'] ?? r['blacklisted'] ?? '') === '1' ? 1 : 0,
      wall_time_ms: wallTimeMs(r),
      user_time: count(r['user_time']) ?? 0,
      system_time: count(r['system_time']) ?? 0,
      average_memory: count(r['average_memory']) ?? 0,
      output_size: count(r['output_size']) ?? 0,
      updated_at: now,
    });
  }
  return [...byName.values()];
}
