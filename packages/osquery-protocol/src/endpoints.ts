/**
 * Default paths of the osquery remote API served by Mimir. osquery concatenates
 * `https://` + `--tls_hostname` + the endpoint flag, so every path starts with `/`
 * (osquery-protocol.md §1.1).
 */
export const OSQUERY_API_PREFIX = '/api/v1/osquery';

export const OSQUERY_ENDPOINTS = {
  enroll: `${OSQUERY_API_PREFIX}/enroll`,
  config: `${OSQUERY_API_PREFIX}/config`,
  log: `${OSQUERY_API_PREFIX}/log`,
  distributedRead: `${OSQUERY_API_PREFIX}/distributed/read`,
  distributedWrite: `${OSQUERY_API_PREFIX}/distributed/write`,
  carveBegin: `${OSQUERY_API_PREFIX}/carve/begin`,
  carveBlock: `${OSQUERY_API_PREFIX}/carve/block`,
} as const;

export type OsqueryEndpoint = keyof typeof OSQUERY_ENDPOINTS;

/** osquery's TLS client gives up on a request after a fixed 16 s (§1.5). */
export const OSQUERY_CLIENT_TIMEOUT_MS = 16_000;

/** Released osquery 5.x refuses configs over 1 MiB after comment stripping (§1.5, §3.1). */
export const OSQUERY_MAX_CONFIG_BYTES = 1024 * 1024;
