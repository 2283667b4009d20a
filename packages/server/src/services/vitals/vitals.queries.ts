/**
 * The detail ("host vitals") queries, per platform (Fleet §1.16: hard-coded queries with platform
 * lists). Every table and column here exists for that platform in osquery 5.23.1's schema
 * (`/work/shared/osquery/schema-5.23.1.json`; vitals.service.test.ts checks it). A query for a table a
 * platform lacks fails with "no such table" (osquery-protocol.md §9 item 12), and no query here has
 * a discovery query: a failing discovery drops the whole batch (§5.1).
 */
import type { HostPlatform } from '@mimir/osquery-protocol';
import { VITALS_PREFIX } from './vitals.types.js';

export const DETAIL_NAMES = [
  'os_version', 'osquery_info', 'system_info', 'uptime', 'interface_addresses', 'disk_space', 'users', 'software',
  'osquery_schedule',
] as const;
export type DetailName = (typeof DETAIL_NAMES)[number];

export type DetailQueries = Readonly<Partial<Record<DetailName, string>>>;

/** All columns: the raw row is kept as a host_vitals entry and read by hostFieldsFromDetails. */
const OS_VERSION = 'SELECT * FROM os_version LIMIT 1';
const OSQUERY_INFO = 'SELECT * FROM osquery_info LIMIT 1';
// system_info.physical_memory is the host's RAM on every platform, so there is no separate memory query.
const SYSTEM_INFO = 'SELECT * FROM system_info LIMIT 1';
const UPTIME = 'SELECT days, hours, minutes, seconds, total_seconds FROM uptime';

/**
 * Every address with its interface's MAC and, when the interface carries a default route, that
 * route's metric; the primary address is chosen server-side (vitals.ingest.ts) so a host without a
 * default route or without a private address still gets one (Fleet's network_interface query keeps
 * only private addresses on the default route and then reports nothing). The default-route lookup is
 * an aggregated subquery so `routes` is generated once, not once per address. On Linux and macOS
 * `routes.interface` is the interface name; a default route is destination 0.0.0.0 (or ::) with
 * prefix length 0 (osquery linux/darwin routes.cpp, Fleet networkInterfaceQuery).
 */
const INTERFACES_UNIX = `SELECT ia.interface, ia.address, ia.mask, id.mac, d.metric AS default_route_metric
FROM interface_addresses ia
LEFT JOIN interface_details id ON id.interface = ia.interface
LEFT JOIN (SELECT interface, MIN(metric) AS metric FROM routes
  WHERE destination IN ('0.0.0.0', '::') AND netmask = 0 GROUP BY interface) d ON d.interface = ia.interface`;

/**
 * On Windows `routes.interface` is the first IPv4 address of the route's adapter, not its name, and
 * off-host routes have type "remote" (osquery windows/routes.cpp; Fleet joins `r.interface =
 * ia.address` with type 'remote' for the same reason).
 */
const INTERFACES_WINDOWS = `SELECT ia.interface, ia.address, ia.mask, id.mac, d.metric AS default_route_metric
FROM interface_addresses ia
LEFT JOIN interface_details id ON id.interface = ia.interface
LEFT JOIN (SELECT interface, MIN(metric) AS metric FROM routes
  WHERE destination = '0.0.0.0' AND netmask = 0 AND type = 'remote' GROUP BY interface) d ON d.interface = ia.address`;

/** For hosts of unknown platform: no routes join, the table's interface column differs by OS. */
const INTERFACES_PORTABLE = `SELECT ia.interface, ia.address, ia.mask, id.mac
FROM interface_addresses ia
LEFT JOIN interface_details id ON id.interface = ia.interface`;

/**
 * Linux may list several mounts on / (rootfs plus the real device); ingest keeps the largest.
 * On macOS / is the sealed system volume, whose free space is the APFS container's (Fleet's
 * disk_space_unix query reads the same row).
 */
const DISK_SPACE_UNIX = `SELECT path, device, type, blocks_size, blocks, blocks_available,
  blocks * blocks_size AS total_bytes, blocks_available * blocks_size AS available_bytes
FROM mounts WHERE path = '/'`;

/**
 * `boot_partition` comes from Win32_DiskPartition.BootPartition (osquery windows/logical_drives.cpp),
 * which marks the partition holding the boot manager: on many machines the EFI or "System Reserved"
 * partition, which has no drive letter, so no lettered drive has it. C: is fetched too and ingest
 * prefers the boot partition, then C:.
 */
const DISK_SPACE_WINDOWS = `SELECT device_id, description, file_system, boot_partition,
  size AS total_bytes, free_space AS available_bytes
FROM logical_drives WHERE boot_partition = 1 OR device_id = 'C:'`;

/** `users.type` is a hidden, Windows-only column in 5.23.1: selecting it elsewhere is "no such column". */
const USERS_POSIX = 'SELECT uid, username, description, directory, shell FROM users';
const USERS_WINDOWS = 'SELECT uid, username, description, directory, shell, type FROM users';

/**
 * Both package databases on every Linux host: osquery returns no rows (not an error) for the one
 * that is absent, as Fleet's software_linux relies on. `% ok installed` drops packages removed but
 * with config files left (`deinstall ok config-files`). The RPM version carries the release, like
 * the Debian version string already does.
 */
const SOFTWARE_LINUX = `SELECT name, version, 'deb_packages' AS source, '' AS vendor, arch
FROM deb_packages WHERE status LIKE '% ok installed'
UNION ALL
SELECT name, CASE WHEN release = '' THEN version ELSE version || '-' || release END AS version,
  'rpm_packages' AS source, vendor, arch
FROM rpm_packages`;

/** bundle_short_version is the user-visible version; some bundles only set bundle_version (Fleet software_macos). */
const SOFTWARE_DARWIN = `SELECT name, COALESCE(NULLIF(bundle_short_version, ''), bundle_version) AS version,
  'apps' AS source, '' AS vendor, '' AS arch
FROM apps`;

const SOFTWARE_WINDOWS = `SELECT name, version, 'programs' AS source, publisher AS vendor, '' AS arch
FROM programs`;

/**
 * `SELECT *` as Fleet's scheduled_query_stats does: column names changed across versions
 * (`blacklisted` → `denylisted`, `wall_time` seconds → `wall_time_ms`; 5.23.1 has both wall
 * columns), and naming a column an older agent lacks would fail the query there.
 */
const OSQUERY_SCHEDULE = 'SELECT * FROM osquery_schedule';

/** Tables present on darwin, linux and windows alike: what a host of unknown platform gets. */
const PORTABLE: DetailQueries = {
  os_version: OS_VERSION,
  osquery_info: OSQUERY_INFO,
  system_info: SYSTEM_INFO,
  uptime: UPTIME,
  interface_addresses: INTERFACES_PORTABLE,
  users: USERS_POSIX,
  osquery_schedule: OSQUERY_SCHEDULE,
};

export const DETAIL_QUERIES: Readonly<Record<HostPlatform, DetailQueries>> = {
  linux: {
    ...PORTABLE,
    interface_addresses: INTERFACES_UNIX,
    disk_space: DISK_SPACE_UNIX,
    software: SOFTWARE_LINUX,
  },
  darwin: {
    ...PORTABLE,
    interface_addresses: INTERFACES_UNIX,
    disk_space: DISK_SPACE_UNIX,
    software: SOFTWARE_DARWIN,
  },
  windows: {
    ...PORTABLE,
    interface_addresses: INTERFACES_WINDOWS,
    disk_space: DISK_SPACE_WINDOWS,
    users: USERS_WINDOWS,
    software: SOFTWARE_WINDOWS,
  },
  // The 5.23.1 schema lists no freebsd platform at all: FreeBSD hosts get the portable set only.
  freebsd: PORTABLE,
  unknown: PORTABLE,
};

function prefixed(q: DetailQueries): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of DETAIL_NAMES) {
    const sql = q[name];
    if (sql !== undefined) out[VITALS_PREFIX + name] = sql;
  }
  return Object.freeze(out);
}

/** What goes into `distributed/read`, built once per platform: query name → SQL. */
export const DETAIL_QUERY_SETS: Readonly<Record<HostPlatform, Readonly<Record<string, string>>>> = {
  linux: prefixed(DETAIL_QUERIES.linux),
  darwin: prefixed(DETAIL_QUERIES.darwin),
  windows: prefixed(DETAIL_QUERIES.windows),
  freebsd: prefixed(DETAIL_QUERIES.freebsd),
  unknown: prefixed(DETAIL_QUERIES.unknown),
};

/** Platforms that get more than the portable set (a host moving to one of these needs a full fetch). */
export function hasPlatformQueries(p: HostPlatform): boolean {
  return DETAIL_QUERIES[p] !== PORTABLE;
}
