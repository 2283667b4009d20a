/**
 * osquery platform vocabulary. `platform_type` in enroll is the decimal build bitmask
 * (osquery-protocol.md §2.1): Linux "9" (POSIX|LINUX), macOS "21" (POSIX|BSD|OSX), Windows "2".
 */
export const PLATFORM_MASK = {
  windows: 2,
  linux: 9,
  darwin: 21,
} as const;

/** Platforms a host can be: what Mimir stores for each host. */
export const HOST_PLATFORMS = ['linux', 'darwin', 'windows', 'freebsd', 'unknown'] as const;
export type HostPlatform = (typeof HOST_PLATFORMS)[number];

const MASK_POSIX = 1;
const MASK_WINDOWS = 2;
const MASK_BSD = 4;
const MASK_LINUX = 8;
const MASK_OSX = 16;
const MASK_FREEBSD = 32;

/** Map an enroll `platform_type` / `osquery_info.platform_mask` to a platform family. */
export function platformFromMask(mask: number): HostPlatform {
  if (mask & MASK_WINDOWS) return 'windows';
  if (mask & MASK_OSX) return 'darwin';
  if (mask & MASK_LINUX) return 'linux';
  if (mask & MASK_FREEBSD) return 'freebsd';
  if (mask & MASK_BSD) return 'freebsd';
  if (mask & MASK_POSIX) return 'linux';
  return 'unknown';
}

/**
 * Map `os_version.platform` / `os_version.platform_like` values (ubuntu, rhel, darwin, windows, …)
 * to a platform family.
 */
export function platformFromOsName(platform: string, platformLike = ''): HostPlatform {
  const p = platform.toLowerCase();
  const like = platformLike.toLowerCase();
  if (p === 'darwin' || p === 'macos') return 'darwin';
  if (p === 'windows') return 'windows';
  if (p === 'freebsd') return 'freebsd';
  if (p === '') return like === '' ? 'unknown' : platformFromOsName(like);
  // Every other os_version.platform value osquery emits is a Linux distribution id
  // (ubuntu, debian, rhel, centos, amzn, arch, gentoo, …).
  return 'linux';
}

/**
 * Does a query/pack `platform` filter (osquery's pack vocabulary: darwin, linux, posix,
 * windows, freebsd, any/all, distro names like ubuntu, comma lists) include a host platform?
 * osquery itself evaluates the filter on the host (O-packs); the server uses the same rule to keep
 * configs small.
 */
export function platformFilterMatches(filter: string | undefined, host: HostPlatform): boolean {
  if (filter === undefined || filter.trim() === '') return true;
  for (const raw of filter.split(',')) {
    const p = raw.trim().toLowerCase();
    if (p === '' || p === 'any' || p === 'all') return true;
    if (p === host) return true;
    if (p === 'posix' && (host === 'linux' || host === 'darwin' || host === 'freebsd')) return true;
    if (host === 'linux' && LINUX_DISTROS.has(p)) return true;
    if (host === 'unknown') return true;
  }
  return false;
}

const LINUX_DISTROS = new Set([
  'ubuntu', 'debian', 'rhel', 'centos', 'fedora', 'amzn', 'arch', 'gentoo', 'suse', 'opensuse', 'sles',
]);
