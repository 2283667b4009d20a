/**
 * osquery version strings ("5.23.1", "5.12.1-4-gabcdef", "4.9.0") compared the way the stand-in
 * needs for its version gates: the leading dotted numbers only, missing parts are 0.
 */

/** The osquery release the stand-in imitates by default. */
export const DEFAULT_OSQUERY_VERSION = '5.23.1';

/** Leading numeric components of a version string: "5.12.1-4-gabc" → [5, 12, 1]. */
export function versionParts(version: string): number[] {
  const m = /^\s*v?(\d+(?:\.\d+)*)/.exec(version);
  if (!m?.[1]) return [0];
  return m[1].split('.').map((p) => Number(p));
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const pa = versionParts(a);
  const pb = versionParts(b);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function versionAtLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

/**
 * Wire behaviour that changed between osquery releases (osquery-protocol.md, "since X.Y" notes).
 * Computed once per client from its version string.
 */
export interface VersionFeatures {
  /** `Authorization: NodeKey …` on config/logger/distributed/carver requests (since 5.23.0). */
  authorizationHeader: boolean;
  /** `--tls_accept_gzip` exists (since 5.21.0). */
  acceptGzip: boolean;
  /** Carve begin and every block are tried 3 times and a failing block aborts the carve (since 5.22.0). */
  carveRetries: boolean;
  /** Discovery: only queries whose own discovery returns rows run (since 5.8.0); older semantics otherwise. */
  perQueryDiscovery: boolean;
  /** Distributed write carries `stats` (since 5.8.0). */
  distributedStats: boolean;
  /** Status log `unixTime`/`severity`/`line` are JSON numbers (since 5.10.0; strings before). */
  numericStatusFields: boolean;
  /** Logger exponential backoff `period·n²` capped by `--logger_tls_backoff_max` (since 5.12.0). */
  loggerBackoff: boolean;
  /** `--tls_disable_status_log` exists (since 5.3.0). */
  disableStatusLogFlag: boolean;
  /** Distributed write carries `messages` (osquery/osquery#6352, merged 2020-03, first in 4.3.0). */
  distributedMessages: boolean;
  /** Distributed `statuses` are integers and result-log `unixTime/epoch/counter` are numbers (3.0+). */
  numericStatuses: boolean;
  /** 1.x/2.x: empty distributed rows and empty snapshots are sent as `""` instead of `[]`. */
  emptyResultsAsString: boolean;
}

export function versionFeatures(version: string): VersionFeatures {
  const at = (v: string): boolean => versionAtLeast(version, v);
  return {
    authorizationHeader: at('5.23.0'),
    acceptGzip: at('5.21.0'),
    carveRetries: at('5.22.0'),
    perQueryDiscovery: at('5.8.0'),
    distributedStats: at('5.8.0'),
    numericStatusFields: at('5.10.0'),
    loggerBackoff: at('5.12.0'),
    disableStatusLogFlag: at('5.3.0'),
    distributedMessages: at('4.3.0'),
    numericStatuses: at('3.0.0'),
    emptyResultsAsString: !at('3.0.0'),
  };
}
